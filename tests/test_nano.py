"""The nano world beyond its notebook: properties of the generator and the plan classifier over many problems, a
seeded student build, and a short GRPO run through the `nano` preset (the same code path as a GPU run)."""
import json, random

import pytest

from rlkd_nb import nano as N


# threads=None: the warm starts keep the test process's torch threads (one per pytest-xdist worker, see conftest.py)
# instead of build_student's default of two.
@pytest.fixture(scope="module")
def student(run_tmp):
    "A nano student warm-started for 3 steps only: every code path, none of the waiting (built once per test run)."
    return N.build_student(seed=0, steps=3, dest=run_tmp / "nano-student-3steps", threads=None)


def test_every_plan_trace_is_classified_as_its_plan():
    r = random.Random(0)
    for p in N.nano_problems(600, seed=7, templates=tuple(N.TEMPLATES)):
        for plan in p.plans:
            want = "teacher" if plan == p.teacher else "other"
            assert N.classify_plan(p, N.write_trace(p, plan, r)) == want, (p.text, plan)
            assert N.classify_plan(p, N.teacher_completion(N.write_trace(p, plan, r), str(p.answer))) == want


def test_classifier_on_corrupted_traces():
    "Dropping a calculation or changing an operand leaves no plan; garbage never follows one."
    r = random.Random(1)
    for p in N.nano_problems(300, seed=8, templates=tuple(N.TEMPLATES)):
        lines = N.write_trace(p, p.teacher, r).split("\n")
        calc = [i for i, l in enumerate(lines) if "=" in l]
        gone = calc[r.randrange(len(calc))]
        dropped = "\n".join(l for i, l in enumerate(lines) if i != gone)
        assert N.classify_plan(p, dropped) == "neither"
        first = lines[calc[0]]
        a = N.equations(first)[0][0]
        wrong = "\n".join(lines).replace(first, first.replace(f": {a} ", f": {a + 101} ", 1))
        assert N.classify_plan(p, wrong) == "neither", wrong
        junk = "".join(r.choice("0123456789 +-*=x.\n") for _ in range(r.randrange(200)))
        assert N.classify_plan(p, junk) == "neither", junk


def test_tokenizer_round_trips_everything_the_generator_writes():
    tok = N.nano_tokenizer()
    for rec in N.nano_records(200, seed=3, templates=tuple(N.TEMPLATES), plans="mixed"):
        for text in (rec["problem"], N.teacher_completion(rec["teacher_trace"], rec["answer"])):
            ids = tok(text, add_special_tokens=False)["input_ids"]
            assert tok.unk_token_id not in ids and tok.decode(ids) == text


def test_seeded_student_build_is_reproducible(tmp_path, student):
    import torch
    from safetensors.torch import load_file
    same = N.build_student(seed=0, steps=3, dest=tmp_path / "again", threads=None)
    other = N.build_student(seed=1, steps=3, dest=tmp_path / "other", threads=None)
    w0, w1, w2 = (load_file(str(d / "model.safetensors")) for d in (student, same, other))
    assert w0.keys() == w1.keys()
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    assert not all(torch.equal(w0[k], w2[k]) for k in w0)
    assert json.loads((student / "config.json").read_text())["hidden_size"] == N.NANO_ARCH["hidden_size"]


def test_two_grpo_steps_with_the_nano_preset(tmp_path, student):
    "RLKD through `train_method` and the `nano` preset: TRL GRPO, the RLKDReward columns and metrics, curves from the logs."
    run = N.nano_run("rlkd", seed=0, output=tmp_path / "run", model=str(student), max_steps=2, save_steps=2,
                     per_device_train_batch_size=8, max_completion_length=24)
    rows = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l.strip()]
    steps = [r for r in rows if "rewards/rlkd_structure/mean" in r]
    assert len(steps) == 2 and all(r["rlkd/failures"] == 0 for r in steps)
    cfg = json.loads((run / "rlkd_config.json").read_text())
    assert (cfg["model"], cfg["dataset"], cfg["method"], cfg["system_prompt"]) == (str(student), "nano", "rlkd", N.NANO_SYSTEM)
    curves = N.run_curves(run)
    assert curves["step"] == [1, 2] and len(curves["adoption"]) == 2
    assert all(x is not None for x in curves["structure"] + curves["zero_spread"])
