"""rlkd_nb.evaluate and rlkd_nb.experiments: metric logic on hand-made completions, a real (tiny) model end to end, data loading, reports, CLI errors."""
import json, math, subprocess, sys
from pathlib import Path

import pytest

from rlkd_nb.cli import main
from rlkd_nb.data import load_builtin
from rlkd_nb.core import write_atomic
from rlkd_nb.evaluate import (METRIC_KEYS, chat_prompts, evaluate, generate_completions, load_eval_problems,
                              metrics_only, pass_at_k, score_completions, metrics_table_html)
from rlkd_nb.experiments import demo_report, run_experiment, training_curves_png


def right(ans): return f"<think>\nLet me compute it.\n</think>\n<answer>\n\\boxed{{{ans}}}\n</answer>"
WRONG = "<think>\nNot sure.\n</think>\n<answer>\n\\boxed{-1}\n</answer>"


@pytest.fixture(scope="module")
def probs():
    return load_builtin(3, seed=0)


def fake_generator(probs, n_right):
    "generate_fn giving problem i `n_right[i]` correct samples (first) and a correct greedy answer iff n_right[i] > 0."
    idx = {p["problem"]: i for i, p in enumerate(probs)}
    def gen(prompts, n, greedy):
        out = []
        for q in prompts:
            i = idx[q]; a = probs[i]["answer"]
            if greedy: out.append([right(a) if n_right[i] else WRONG])
            else: out.append([right(a)] * n_right[i] + [WRONG] * (n - n_right[i]))
        return out
    return gen


# ---- pass@k -------------------------------------------------------------------------------------------------

def test_pass_at_k_matches_brute_force():
    from itertools import combinations
    for n in range(1, 7):
        for c in range(n + 1):
            flags = [1] * c + [0] * (n - c)
            for k in range(1, n + 1):
                subsets = list(combinations(flags, k))
                assert math.isclose(pass_at_k(n, c, k), sum(any(s) for s in subsets) / len(subsets))
                if k > 1: assert pass_at_k(n, c, k) >= pass_at_k(n, c, k - 1)


def test_pass_at_k_rejects_bad_counts():
    with pytest.raises(ValueError): pass_at_k(3, 4, 1)
    with pytest.raises(ValueError): pass_at_k(3, 1, 0)


# ---- evaluate on hand-made completions ---------------------------------------------------------------------

def test_metrics_on_hand_made_completions(probs):
    res = evaluate(None, probs, k=4, generate_fn=fake_generator(probs, [4, 1, 0]), judge="exact", progress=False)
    assert math.isclose(res["accuracy"], (1 + 0.25 + 0) / 3)
    assert res["pass@1"] == res["accuracy"]
    assert math.isclose(res["pass@k"], 2 / 3)
    assert math.isclose(res["greedy_accuracy"], 2 / 3)
    assert res["format_rate"] == 1.0 and res["greedy_format_rate"] == 1.0   # WRONG is well formatted too
    for p, r, c in zip(probs, res["records"], [4, 1, 0]):
        assert r["n_correct"] == c and r["pass@k"] >= r["pass@1"]
        assert [s["correct"] for s in r["samples"]] == [True] * c + [False] * (4 - c)
        assert [s["completion"] for s in r["samples"]] == [right(p["answer"])] * c + [WRONG] * (4 - c)   # kept as generated
    assert res["n_problems"] == res["n_accuracy"] == res["n_structure"] == 3
    assert res["structure"] == 0.0 and res["greedy_structure"] == 0.0       # "Let me compute it." follows no teacher step
    json.dumps(res)                                                          # JSON-ready, records included


def test_pass_at_k_at_least_pass_at_1_for_any_split(probs):
    for split in ([0, 0, 0], [1, 0, 2], [3, 3, 3], [2, 1, 1]):
        res = evaluate(None, probs, k=3, generate_fn=fake_generator(probs, split), judge="exact", progress=False)
        assert res["pass@k"] >= res["accuracy"]
        assert math.isclose(res["pass@k"], sum(c > 0 for c in split) / 3)


def test_structure_alignment_rewards_teacher_structure(probs):
    "A completion that restates the teacher's steps aligns better than one that does not."
    p = probs[0]
    steps = p["teacher_structure"]["steps"]
    copy = "<think>\n" + "\n\n".join(f"{s['meta']} {s['subproblem']} {s['answer']}." for s in steps) + \
           f"\n</think>\n<answer>\n\\boxed{{{p['answer']}}}\n</answer>"
    a, b = score_completions(p, [copy, WRONG], judge="lexical")
    assert a["structure"] > b["structure"]
    assert a["student_structure"]["steps"]


def test_unparseable_gold_and_missing_structure_are_excluded():
    probs = [{"problem": "What is 2+3?", "answer": "5"}, {"problem": "Say hi.", "answer": ""}]
    gen = lambda ps, n, g: [[right("5")] * (1 if g else n) for _ in ps]
    res = evaluate(None, probs, k=2, generate_fn=gen, progress=False)
    assert res["n_accuracy"] == 1 and res["accuracy"] == 1.0
    assert res["n_structure"] == 0 and res["structure"] is None and res["greedy_structure"] is None
    assert res["records"][1]["greedy"]["correct"] is None


def test_evaluate_argument_errors(probs):
    with pytest.raises(ValueError, match="no problems"): evaluate(None, [], generate_fn=lambda *a: [])
    with pytest.raises(ValueError, match="tokenizer"): evaluate(object(), probs, k=1, progress=False)
    short = lambda ps, n, g: [["x"] * (1 if g else n - 1) for _ in ps]
    with pytest.raises(ValueError, match="expected 2"): evaluate(None, probs, k=2, generate_fn=short, judge="exact", progress=False)


def test_greedy_only(probs):
    res = evaluate(None, probs, k=0, generate_fn=fake_generator(probs, [1, 0, 1]), judge="exact", progress=False)
    assert res["accuracy"] is None and math.isclose(res["greedy_accuracy"], 2 / 3)


# (a real tiny model: batching, left padding, seeded sampling and the training prompt format are shown in 10_evaluate)

# ---- data ------------------------------------------------------------------------------------------------

def test_load_eval_problems_builtin():
    ps = load_eval_problems("builtin:5")
    assert len(ps) == 5 and all(p["teacher_structure"]["steps"] for p in ps)
    assert len(load_eval_problems("builtin", n=2)) == 2


def test_load_eval_problems_gsm8k(shared_data):
    ps = load_eval_problems(str(shared_data / "gsm8k" / "test.jsonl"), n=3)
    assert len(ps) == 3 and all(p["answer"] and p["teacher_structure"]["steps"] for p in ps)
    soc = load_eval_problems(str(shared_data / "gsm8k" / "socratic_dev.jsonl"), n=2)
    assert len(soc) == 2 and all(s["subproblem"].endswith("?") for p in soc for s in p["teacher_structure"]["steps"])


def test_load_eval_problems_records(tmp_path):
    f = tmp_path / "recs.jsonl"
    f.write_text(json.dumps({"problem": "What is 2+2?", "answer": "4",
                             "teacher_trace": "First, how much is 2+2? 2+2 = 4.\n\nSo the answer is 4."}) + "\n")
    (p,) = load_eval_problems(str(f))
    assert p["answer"] == "4" and len(p["teacher_structure"]["steps"]) >= 1
    bad = tmp_path / "bad.jsonl"; bad.write_text(json.dumps({"text": "x"}) + "\n")
    with pytest.raises(ValueError, match="problem"): load_eval_problems(str(bad))
    with pytest.raises(FileNotFoundError): load_eval_problems(str(tmp_path / "none.jsonl"))


# ---- report pieces ---------------------------------------------------------------------------------------

def test_write_atomic_leaves_no_temp(tmp_path):
    p = write_atomic(tmp_path / "a" / "x.json", "{}")
    assert p.read_text() == "{}" and [q.name for q in p.parent.iterdir()] == ["x.json"]


def test_demo_report_is_self_contained(probs):
    before = evaluate(None, probs, k=2, generate_fn=fake_generator(probs, [0, 0, 1]), judge="exact", progress=False)
    after = evaluate(None, probs, k=2, generate_fn=fake_generator(probs, [2, 1, 1]), judge="exact", progress=False)
    hist = [{"step": s, "reward": s * 2.0, "rewards/accuracy_reward/mean": s / 4} for s in (1, 2, 3)]
    page = demo_report(before, after, hist, {"student": "fake"}, judge="exact")
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "data:image/png;base64," in page and "<script src" not in page and "http://" not in page
    assert "Teacher vs student structure" in page and "+0.500" in page       # accuracy 1/6 -> 4/6
    assert training_curves_png([]) is None and "Training curves" in page
    assert "<td class='down'>-0.100</td>" in metrics_table_html({"a": {"accuracy": 0.3}, "b": {"accuracy": 0.2}})


# ---- CLI ------------------------------------------------------------------------------------------------

def test_cli_eval_tiny(tmp_path, capsys):
    out = tmp_path / "ev.json"
    rc = main(["eval", "--model", "tiny", "--data", "builtin:2", "--k", "2", "--max-new-tokens", "6",
               "--judge", "exact", "--quiet", "--output", str(out)])
    assert rc == 0
    m = json.loads(capsys.readouterr().out)
    assert m["n_problems"] == 2 and m["k"] == 2 and m["accuracy"] == 0.0      # 6 random tokens are never a right answer
    saved = json.loads(out.read_text())
    assert len(saved["records"]) == 2 and len(saved["records"][0]["samples"]) == 2
    assert {k: v for k, v in saved.items() if k != "records"} == m              # the file holds what was printed


@pytest.mark.parametrize("argv, msg", [
    (["eval", "--model", "tiny", "--data", "/nonexistent/x.jsonl"], "no such data file"),
    (["eval", "--model", "./no_such_model_dir", "--data", "builtin:1"], "no such model directory"),
    (["eval", "--model", "tiny", "--data", "builtin:1", "--k", "-1"], "--k"),
    (["experiment", "--methods", "sft,magic", "--seeds", "0"], "unknown method"),
    (["experiment", "--methods", "sft", "--seeds", "zero"], "--seeds"),
    (["demo", "--steps", "0"], "--steps"),
])
def test_cli_user_errors(argv, msg, capsys):
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2 and msg in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_cli_bad_jsonl_no_traceback(tmp_path):
    f = tmp_path / "bad.jsonl"; f.write_text('{"problem": "x", "answer": "1"}\n{not json\n')
    rlkd = str(Path(sys.executable).parent / "rlkd")
    r = subprocess.run([rlkd, "eval", "--model", "tiny", "--data", str(f)],
                       capture_output=True, text=True, timeout=300)
    if r.returncode == 0: pytest.fail("a malformed JSONL line must be an error")
    assert "Traceback" not in r.stderr and str(f) in r.stderr.strip().splitlines()[-1]


# ---- experiment (tiny preset: seconds per run) --------------------------------------------------------------

@pytest.mark.slow
def test_run_experiment_tiny(tmp_path):
    rows = run_experiment(["base", "grpo-outcome", "rlkd"], [0, 1], "tiny", n_eval=2, steps=1, k=1, max_new_tokens=4,
                          judge="exact", output=tmp_path, progress=False)
    assert [(r["method"], r["seed"]) for r in rows] == [(m, s) for s in (0, 1) for m in ("base", "grpo-outcome", "rlkd")]
    for name in ("results.csv", "summary.csv", "comparison.png"): assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    import csv
    summ = list(csv.DictReader(open(tmp_path / "summary.csv")))
    assert [s["method"] for s in summ] == ["base", "grpo-outcome", "rlkd"] and all(s["n_seeds"] == "2" for s in summ)
    again = run_experiment(["base", "grpo-outcome", "rlkd"], [0, 1], "tiny", n_eval=2, steps=1, k=1, max_new_tokens=4,
                           judge="exact", output=tmp_path, progress=False)   # resumes: every run already evaluated
    assert again == rows


def test_cli_eval_adapter_dir(tmp_path, capsys):
    "A PEFT adapter directory is loaded on its base model (named in adapter_config.json) and merged."
    from peft import get_peft_model
    from rlkd_nb.models import load_model, lora_config, tiny_model_dir
    model, _ = load_model(str(tiny_model_dir()))
    get_peft_model(model, lora_config(r=2)).save_pretrained(tmp_path / "adapter")
    assert json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())["base_model_name_or_path"]
    rc = main(["eval", "--model", str(tmp_path / "adapter"), "--data", "builtin:1", "--k", "1", "--max-new-tokens", "4",
               "--judge", "exact", "--quiet"])
    assert rc == 0 and json.loads(capsys.readouterr().out)["n_problems"] == 1


@pytest.mark.slow
def test_cli_eval_training_run_dir(tmp_path, capsys):
    "`rlkd eval --model <run dir>` evaluates the trained student of an `rlkd train` run."
    from rlkd_nb.train import train_method
    run = train_method("grpo-outcome", "tiny", max_steps=1, output_dir=str(tmp_path / "run"))
    capsys.readouterr()                                   # drop the trainer's log lines
    rc = main(["eval", "--model", str(run), "--data", "builtin:2", "--k", "1", "--max-new-tokens", "4", "--judge", "exact", "--quiet"])
    assert rc == 0 and json.loads(capsys.readouterr().out)["n_problems"] == 2
