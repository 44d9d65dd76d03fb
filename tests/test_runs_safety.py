"""Issue 12, files and runs: `rlkd train` never loses a user's files, checks its settings before any model loads,
resumes only what it was asked to resume (from the newest intact checkpoint), and `rlkd eval` never loses a finished
evaluation. Each test failed on the tree before this change."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlkd_nb import train
from rlkd_nb.cli import main
from rlkd_nb.logs import read_metrics
from rlkd_nb.train import TrainConfig, global_step, train_method


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("RLKD_NB_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def no_model(monkeypatch):
    "Make any model load fail loudly: the checks under test must happen before one."
    def boom(*a, **kw): raise AssertionError("a model was loaded before the settings were checked")
    monkeypatch.setattr(train, "load_model", boom)


def rlkd(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def one_line_error(rc, err, msg):
    lines = [l for l in err.strip().splitlines() if ": error:" in l]
    assert rc == 2 and msg in err and len(lines) == 1 and "Traceback" not in err, err


def fake_run(out: Path, step: int, **cfg) -> dict:
    "A finished run directory as `rlkd train` leaves it (config, final state, one checkpoint), without training."
    out.mkdir(parents=True)
    saved = TrainConfig.load("tiny", output_dir=str(out), **cfg).to_dict()
    (out / "rlkd_config.json").write_text(json.dumps(saved, indent=1))
    (out / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    (out / f"checkpoint-{step}").mkdir()
    (out / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    (out / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "loss": 0.0}) + "\n" for s in range(1, step + 1)))
    return saved


def snapshot(d: Path) -> dict:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


# ---- a directory that is not an rlkd run ---------------------------------------------------------------------

@pytest.mark.parametrize("flag", [[], ["--overwrite"], ["--resume"]])
def test_refuses_a_foreign_non_empty_directory(tmp_path, capsys, no_model, flag):
    d = tmp_path / "mine"
    (d / "completions").mkdir(parents=True)
    (d / "completions" / "notes.txt").write_text("my notes")
    (d / "README.md").write_text("my readme")
    (d / "metrics.csv").write_text("a,b\n1,2\n")
    before = snapshot(d)
    rc, _, err = rlkd(capsys, "train", "--preset", "tiny", "--output", str(d), *flag)
    one_line_error(rc, err, "is not an rlkd run")
    assert snapshot(d) == before


# ---- an existing run ------------------------------------------------------------------------------------------

def test_refuses_to_start_over_an_existing_run(tmp_path, capsys, no_model):
    out = tmp_path / "run"
    fake_run(out, 10, max_steps=10)
    before = snapshot(out)
    rc, _, err = rlkd(capsys, "train", "--preset", "tiny", "--max-steps", "10", "--output", str(out))
    one_line_error(rc, err, "pass --resume to continue it or --overwrite")
    assert snapshot(out) == before


def test_overwrite_deletes_only_what_the_run_wrote(tmp_path):
    out = tmp_path / "run"
    fake_run(out, 7, max_steps=7, judge="lexical")
    (out / "completions").mkdir()
    (out / "completions" / "completions_00007.parquet").write_bytes(b"x")
    (out / "completions" / "my_analysis.ipynb").write_text("{}")
    train_method("grpo-outcome", TrainConfig.load("tiny", output_dir=str(out), max_steps=1, save_steps=1, n_train=4,
                                                   overwrite=True, log_completions=False))
    assert not (out / "checkpoint-7").exists() and (out / "checkpoint-1").exists()
    assert (out / "completions" / "my_analysis.ipynb").read_text() == "{}"
    assert not (out / "completions" / "completions_00007.parquet").exists()
    assert [m["step"] for m in read_metrics(out) if "loss" in m] == [1]


@pytest.mark.parametrize("argv, msg", [
    (["--max-steps", "5"], "max_steps 10 -> 5"),                          # used to train on to step 11
    (["--method", "sft"], "method 'rlkd' -> 'sft'"),                      # used to continue an RLKD run with SFT
    (["--set", "learning_rate=1e-4"], "learning_rate"),
])
def test_resume_refuses_changed_settings(tmp_path, capsys, no_model, argv, msg):
    out = tmp_path / "run"
    fake_run(out, 10, max_steps=10)
    before = snapshot(out)
    rc, _, err = rlkd(capsys, "train", "--preset", "tiny", "--max-steps", "10", "--output", str(out), "--resume", *argv)
    one_line_error(rc, err, msg)
    assert "--allow-changes" in err and snapshot(out) == before      # rlkd_config.json untouched


def test_resume_with_allowed_changes_still_refuses_a_step_already_passed(tmp_path, capsys, no_model):
    out = tmp_path / "run"
    fake_run(out, 10, max_steps=10)
    rc, _, err = rlkd(capsys, "train", "--output", str(out), "--resume", "--max-steps", "5", "--allow-changes")
    one_line_error(rc, err, "already at step 10")
    assert json.loads((out / "rlkd_config.json").read_text())["max_steps"] == 10


def test_resume_of_a_finished_run_does_nothing(tmp_path, capsys, no_model):
    out = tmp_path / "run"
    fake_run(out, 10, max_steps=10)
    before = snapshot(out)
    rc, stdout, err = rlkd(capsys, "train", "--output", str(out), "--resume")   # the run's own settings
    assert rc == 0 and "already finished at step 10" in err and stdout.strip() == str(out)
    assert snapshot(out) == before


def test_resume_takes_the_runs_own_settings(tmp_path, capsys):
    out = tmp_path / "run"
    fake_run(out, 10, max_steps=10, judge="lexical", reward_mode="normalized")
    rc, stdout, _ = rlkd(capsys, "train", "--output", str(out), "--resume", "--print-config")
    c = json.loads(stdout)
    assert rc == 0 and (c["model"], c["judge"], c["reward_mode"], c["max_steps"], c["resume"]) == ("tiny", "lexical", "normalized", 10, True)


# ---- settings checked before any model loads ------------------------------------------------------------------

@pytest.mark.parametrize("argv, msg", [
    (["--set", "learning_rate=abc"], "learning_rate must be a number, got 'abc'"),
    (["--set", "learning_rate=-1"], "learning_rate must be > 0"),
    (["--max-steps", "-5"], "max_steps must be -1 (run num_train_epochs) or >= 1"),
    (["--set", 'method="nope"'], "unknown method 'nope'"),
    (["--set", "top_p=2"], "top_p must be in (0, 1]"),
    (["--set", "max_steps=3", "--max-steps", "4"], "disagree"),
    (["--set", "bogus=1"], "unknown config key(s): bogus"),
])
def test_bad_settings_fail_before_loading_and_write_nothing(tmp_path, capsys, no_model, argv, msg):
    out = tmp_path / "run"
    rc, _, err = rlkd(capsys, "train", "--preset", "tiny", "--output", str(out), *argv)
    one_line_error(rc, err, msg)
    assert not out.exists()


@pytest.mark.parametrize("key, value, shown", [("max_steps", "99", 99), ("method", '"sft"', "sft"),
                                               ("output_dir", '"elsewhere"', "elsewhere"), ("model", '"smollm2"', "smollm2"),
                                               ("resume", "true", True), ("judge", "none", None)])
def test_set_never_drops_a_key(capsys, key, value, shown):
    rc, stdout, _ = rlkd(capsys, "train", "--preset", "tiny", "--set", f"{key}={value}", "--print-config")
    assert rc == 0 and json.loads(stdout)[key] == shown


# ---- a student directory that is not there ----------------------------------------------------------------------

MISSING = "/no/such/rlkd-model"

@pytest.mark.parametrize("argv", [
    ["--model", MISSING],
    ["--model", "./no/such/rlkd-model", "--method", "sft"],
    ["--method", "rlkd-zero", "--set", f'zero_model="{MISSING}"'],
    ["--model", "runs/no-such-run/checkpoint-3"],                 # more than one '/': not a hub id
])
def test_missing_student_dir_is_refused_before_anything_is_written(tmp_path, capsys, no_model, argv):
    out = tmp_path / "run"
    rc, _, err = rlkd(capsys, "train", "--max-steps", "1", "--output", str(out), *argv)
    one_line_error(rc, err, "no such model directory: ")
    assert not out.exists()                      # used to hold the rlkd_config.json of a run that never started
    assert "SmolLM2" not in err                  # used to print the preset's description of another student


def test_missing_student_dir_leaves_an_empty_output_dir_empty(tmp_path, capsys, no_model):
    out = tmp_path / "run"
    out.mkdir()
    rc, _, err = rlkd(capsys, "train", "--preset", "tiny", "--model", MISSING, "--output", str(out))
    one_line_error(rc, err, f"no such model directory: {MISSING}")
    assert list(out.iterdir()) == []
    with pytest.raises(FileNotFoundError, match="no such model directory"):       # the Python entry point too
        train_method("grpo-outcome", TrainConfig.load("tiny", model=MISSING, output_dir=str(out)))
    assert list(out.iterdir()) == []


def test_missing_student_dir_is_refused_without_importing_trl(tmp_path):
    "The refusal is a stat: it used to come after TRL, transformers and torch were imported (about 9 s)."
    code = ("import sys; from rlkd_nb.cli import main; "
            f"rc = main(['train', '--model', {MISSING!r}, '--max-steps', '1', '--output', {str(tmp_path / 'run')!r}]); "
            "print(rc, sorted(m for m in ('trl', 'transformers', 'torch', 'bitsandbytes') if m in sys.modules))")
    root = str(Path(train.__file__).resolve().parents[1])           # the rlkd_nb under test
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert r.stdout.strip().splitlines()[-1] == "2 []", (r.stdout, r.stderr)
    assert r.stderr.strip() == f"rlkd train: error: no such model directory: {MISSING}"
    assert not (tmp_path / "run").exists()


def test_start_line_names_the_student_given(tmp_path, capsys, monkeypatch):
    student = tmp_path / "my-student"
    student.mkdir()
    monkeypatch.setattr(train, "train_method", lambda method, cfg: cfg.out)      # the line, not the run
    rc, _, err = rlkd(capsys, "train", "--model", str(student), "--output", str(tmp_path / "run"))
    assert rc == 0 and f"rlkd train: rlkd, preset cpu-tiny: student {student}; expected memory n/a;" in err, err
    assert "SmolLM2" not in err                  # the preset's description is about its own student
    rc, _, err = rlkd(capsys, "train", "--output", str(tmp_path / "run2"))          # the preset's student: its description
    assert rc == 0 and "preset cpu-tiny: SmolLM2-135M-Instruct (packaged, offline)" in err, err
    rc, _, err = rlkd(capsys, "train", "--preset", "paper", "--method", "rlkd-zero", "--output", str(tmp_path / "run3"))
    assert rc == 0 and "preset paper: official RLKD recipe" in err, err              # the preset's own zero_model
    rc, _, err = rlkd(capsys, "train", "--preset", "paper", "--method", "rlkd-zero", "--set", 'zero_model="someone/base"',
                      "--output", str(tmp_path / "run4"))
    assert rc == 0 and "preset paper: student someone/base; expected memory n/a;" in err, err


def _no_hub_model(*a, **kw): raise OSError("someone/no-such-model is not a local folder and is not a valid model on the hub")


@pytest.mark.parametrize("method, made", [("rlkd", False), ("rlkd", True), ("sft", False)])
def test_failed_student_load_takes_back_the_new_run(tmp_path, capsys, monkeypatch, method, made):
    "A hub name that is not there fails only at the load, after rlkd_config.json was written: it is taken back."
    monkeypatch.setattr(train, "load_model", _no_hub_model)
    out = tmp_path / "run"
    if made: out.mkdir()
    rc, _, err = rlkd(capsys, "train", "--preset", "tiny", "--method", method, "--model", "someone/no-such-model",
                      "--output", str(out))
    one_line_error(rc, err, "not a valid model on the hub")
    assert (list(out.iterdir()) == []) if made else not out.exists()


def test_failed_student_load_leaves_an_existing_run_alone(tmp_path, capsys, monkeypatch):
    "A guard for the test above (it passed before too): only a run that found its directory missing or empty is taken back."
    out = tmp_path / "run"
    fake_run(out, 10, max_steps=10)
    monkeypatch.setattr(train, "load_model", _no_hub_model)
    rc, _, err = rlkd(capsys, "train", "--output", str(out), "--resume", "--max-steps", "12", "--allow-changes")
    one_line_error(rc, err, "not a valid model on the hub")
    assert {"rlkd_config.json", "checkpoint-10", "metrics.jsonl", "trainer_state.json"} <= {p.name for p in out.iterdir()}


# ---- resume from the newest intact checkpoint -----------------------------------------------------------------

@pytest.fixture(scope="module")
def two_step_run(tmp_path_factory):
    os.environ["RLKD_NB_CACHE"] = str(tmp_path_factory.getbasetemp() / "cache")
    out = tmp_path_factory.mktemp("resume") / "run"
    train_method("grpo-outcome", TrainConfig.load("tiny", output_dir=str(out), max_steps=2, save_steps=1, n_train=4,
                                                   log_completions=False))
    return out


def _damaged_copy(src: Path, dst: Path, damage):
    import shutil
    shutil.copytree(src, dst)
    (dst / "trainer_state.json").unlink()            # as if the run had died after its last checkpoint
    damage(dst / "checkpoint-2")
    return dst


@pytest.mark.parametrize("damage, named", [
    (lambda ck: (ck / "trainer_state.json").write_text('{"global_step": 2, "log_hi'), "trainer_state.json: not valid JSON"),
    (lambda ck: (ck / "adapter_model.safetensors").write_bytes((ck / "adapter_model.safetensors").read_bytes()[:-50]),
     "adapter_model.safetensors: truncated"),
    (lambda ck: (ck / "optimizer.pt").write_bytes((ck / "optimizer.pt").read_bytes()[:100]), "optimizer.pt: truncated"),
])
def test_resume_falls_back_to_the_newest_intact_checkpoint(two_step_run, tmp_path, capsys, damage, named):
    out = _damaged_copy(two_step_run, tmp_path / "run", damage)
    rc, _, err = rlkd(capsys, "train", "--output", str(out), "--resume", "--max-steps", "3", "--allow-changes")
    assert rc == 0, err
    assert "skipping checkpoint-2" in err and named in err
    assert global_step(out) == 3
    assert [m["step"] for m in read_metrics(out) if "loss" in m] == [1, 2, 3]
    starts = [e for e in json.loads((out / "run_info.json").read_text()) if e["event"] == "start"]
    assert starts[-1]["global_step"] == 1                              # resumed from checkpoint-1
    events = json.loads((out / "run_info.json").read_text())
    assert any(e["event"] == "config_change" and e["changes"]["max_steps"] == [2, 3] for e in events)


def test_run_files_have_normal_permissions_and_no_temp_files(two_step_run):
    umask = os.umask(0); os.umask(umask)
    for name in ("rlkd_config.json", "run_info.json", "metrics.csv", "trainer_state.json"):
        assert (two_step_run / name).stat().st_mode & 0o777 == 0o666 & ~umask, name
    assert not [p for p in two_step_run.rglob("*") if p.name.endswith(".tmp")]


# ---- rlkd eval keeps what it computed -------------------------------------------------------------------------

QUICK = ["eval", "--model", "tiny", "--data", "builtin:1", "--k", "1", "--max-new-tokens", "4", "--judge", "exact", "--quiet"]


def test_eval_checks_the_output_path_before_evaluating(tmp_path, capsys, monkeypatch):
    from rlkd_nb import evaluate as ev
    monkeypatch.setattr(ev, "load_student", lambda *a, **k: pytest.fail("loaded a model for an unwritable output"))
    (tmp_path / "file").write_text("x")
    for bad in (tmp_path, tmp_path / "file" / "m.json"):
        rc, out, err = rlkd(capsys, *QUICK, "--output", str(bad))
        one_line_error(rc, err, "--output")
        assert out == ""


def test_eval_prints_metrics_before_a_failed_write(tmp_path, capsys, monkeypatch):
    from rlkd_nb import evaluate as ev
    def full_disk(path, data): raise OSError(28, "No space left on device")
    monkeypatch.setattr(ev, "write_atomic", full_disk)
    rc, out, err = rlkd(capsys, *QUICK, "--output", str(tmp_path / "m.json"))
    one_line_error(rc, err, "No space left on device")
    assert json.loads(out)["n_problems"] == 1                          # the finished evaluation is on stdout


def test_eval_without_usable_answers_says_so(tmp_path, capsys):
    f = tmp_path / "recs.jsonl"
    f.write_text("".join(json.dumps({"problem": f"Say something nice #{i}.", "answer": ""}) + "\n" for i in range(2)))
    rc, out, err = rlkd(capsys, "eval", "--model", "tiny", "--data", str(f), "--k", "1", "--max-new-tokens", "4",
                        "--judge", "exact", "--quiet")
    assert rc == 1 and "none of the 2 problems has a gold answer" in err
    assert json.loads(out)["accuracy"] is None


def test_eval_damaged_adapter_is_one_line(tmp_path, capsys):
    from peft import get_peft_model
    from rlkd_nb.models import load_model, lora_config, tiny_model_dir
    model, _ = load_model(str(tiny_model_dir()))
    get_peft_model(model, lora_config(r=2)).save_pretrained(tmp_path / "adapter")
    f = tmp_path / "adapter" / "adapter_model.safetensors"
    f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 2])
    rc, _, err = rlkd(capsys, "eval", "--model", str(tmp_path / "adapter"), "--data", "builtin:1", "--quiet")
    one_line_error(rc, err, "adapter_model.safetensors: truncated")
