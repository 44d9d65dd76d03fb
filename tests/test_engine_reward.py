"""The engine-neutral reward (`score_completion(s)`) gives RLKDReward's totals, and needs no TRL."""
import json, subprocess, sys
from pathlib import Path
import pytest
from rlkd_nb.data import load_builtin
from rlkd_nb.reward import RLKDReward, OFFICIAL_WEIGHTS, add_teacher_structures, accuracy_reward, format_reward, score_completion, score_completions, tag_count_reward

ROOT = Path(__file__).resolve().parent.parent


def batch():
    "A fixed GRPO-like batch: built-in problems (teacher structures by the heuristic GSRM), each with the teacher's own trace, the trace with a wrong result, a detour and nothing."
    recs = add_teacher_structures([{k: r[k] for k in ("problem", "answer", "teacher_trace")} for r in load_builtin(4, seed=5)])
    prompts, comps, teachers, golds = [], [], [], []
    for r in recs:
        trace = r["teacher_trace"]
        for c in (f"<think>\n{trace}\n</think>\n<answer>\n\\boxed{{{r['answer']}}}\n</answer>",
                  "<think>\n" + trace.replace(r["answer"], str(int(r["answer"]) + 1)) + "\n</think>\n\\boxed{0}",
                  "I will add all the numbers: 1 + 2 = 3. So the answer is \\boxed{3}.", ""):
            prompts.append(r["problem"]); comps.append(c); teachers.append(r["teacher_structure"]); golds.append(r["answer"])
    return prompts, comps, teachers, golds


@pytest.mark.parametrize("mode", ["paper", "normalized"])
def test_same_totals_as_rlkd_reward(mode):
    prompts, comps, teachers, golds = batch()
    rf = RLKDReward(judge="exact", mode=mode)
    expected = rf(comps, prompts=prompts, teacher_structure=teachers, problem=prompts)
    assert len(set(expected)) >= 3                                     # the batch is not degenerate
    got = score_completions(prompts, comps, teachers, golds, judge="exact", mode=mode)
    assert [t for t, _ in got] == expected
    one = [score_completion(p, c, t, g, judge="exact", mode=mode)[0] for p, c, t, g in zip(prompts, comps, teachers, golds)]
    assert one == expected                                             # one at a time: the same numbers
    for (_, info), r in zip(got, rf.last_results):                     # and the same per-step verdicts
        assert info["steps"] == [vars(v) for v in r.steps] and info["gate_index"] == r.gate_index


def test_official_weights_combine_the_four_rewards():
    prompts, comps, teachers, golds = batch()
    got = score_completions(prompts, comps, teachers, golds, judge="exact", weights=OFFICIAL_WEIGHTS)
    structure = RLKDReward(judge="exact")(comps, teacher_structure=teachers, problem=prompts)
    acc, fmt, tags = accuracy_reward(comps, answer=golds), format_reward(comps), tag_count_reward(comps)
    for (total, info), s, a, f, t in zip(got, structure, acc, fmt, tags):
        assert total == pytest.approx(15 * a + 10 * f + 10 * t + 15 * s)
        assert (info["structure"], info["accuracy"], info["format"], info["tag_count"]) == (s, a, f, t)


def test_failures_are_reported_not_raised():
    total, info = score_completion("p", "[Answer 1]: 3", "{not json", judge="exact")
    assert total == 0.0 and info["failure"].startswith("teacher: teacher structure has no steps") and info["steps"] == []
    assert score_completions([], [], [], judge="exact") == []


def test_no_trl_import():
    "An engine that has its own trainer must not need TRL (nor pay for importing it)."
    code = ("import sys; from rlkd_nb.reward import score_completion, add_teacher_structures; from rlkd_nb.data import load_builtin; "
            "r = add_teacher_structures([{k: v for k, v in load_builtin(1)[0].items() if k != 'teacher_structure'}])[0]; "
            "t, info = score_completion(r['problem'], r['teacher_trace'], r['teacher_structure'], r['answer'], judge='exact'); "
            "print(t, sorted(m for m in ('trl', 'peft', 'accelerate', 'torch') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr
    total, mods = p.stdout.split(" ", 1)
    assert float(total) > 0 and mods.strip() == "[]"
