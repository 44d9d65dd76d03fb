"""`rlkd extract` as a user runs it: built-in run, named fields, bad lines (all or nothing, or --skip-bad), exit codes, an output that
is the input, unwritable outputs, atomic output, a killed run, batching, progress."""
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest
from rlkd_nb.cli import main
from rlkd_nb.core import Step, Structure
from rlkd_nb.gsrm import GSRM, register_gsrm

RLKD = shutil.which("rlkd") or str(Path(sys.executable).parent / "rlkd")

def _lines(p): return [json.loads(l) for l in open(p, encoding="utf-8")]

def _write(p, lines):
    p.write_text("".join((l if isinstance(l, str) else json.dumps(l)) + "\n" for l in lines), encoding="utf-8")

def test_builtin_offline_subprocess_with_progress(tmp_path):
    out = tmp_path / "sub" / "builtin.jsonl"
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    r = subprocess.run([RLKD, "extract", "--builtin", "-o", str(out), "--n", "12"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert "12/12" in r.stderr and "rlkd extract" in r.stderr        # tqdm progress bar on stderr
    assert f"wrote 12 records to {out}" in r.stderr
    recs = _lines(out)
    assert len(recs) == 12
    for rec in recs:
        st, true = Structure.from_dict(rec["teacher_structure"]), Structure.from_dict(rec["true_structure"])
        assert st.final_answer == rec["answer"] == true.final_answer
        assert len(st) >= 3 and all(s.span for s in st)
    assert r.stdout == ""

def test_builtin_seed_and_n(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert main(["extract", "--builtin", "--n", "3", "--seed", "4", "-q", "-o", str(a)]) == 0
    assert main(["extract", "--builtin", "--n", "3", "--seed", "4", "-q", "-o", str(b)]) == 0
    assert a.read_text() == b.read_text() and len(_lines(a)) == 3

def test_named_fields_and_think_tags(tmp_path):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(inp, [{"q": "What is 2+2?", "cot": "<think>\nOkay, so I need to find 2+2.\n\nFirst, 2+2=4.\n\nSo the answer is 4.\n</think>\n\\boxed{4}", "keep": 7}])
    assert main(["extract", str(inp), "-o", str(out), "--field-problem", "q", "--field-trace", "cot", "-q"]) == 0
    rec = _lines(out)[0]
    assert rec["keep"] == 7 and rec["q"] == "What is 2+2?"             # input record kept as is
    st = Structure.from_dict(rec["teacher_structure"])
    assert st.final_answer == "4" and [(s.subproblem, s.answer) for s in st] == [("What is 2+2?", "4")]

def test_default_trace_field_falls_back_to_teacher_trace(tmp_path):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(inp, [{"problem": "p", "teacher_trace": "a = <<1+1=2>>2 apples\n#### 2"}])
    assert main(["extract", str(inp), "-o", str(out), "-q"]) == 0
    assert Structure.from_dict(_lines(out)[0]["teacher_structure"]).final_answer == "2"

BAD_LINES = ["{not json", {"problem": "p3"}, {"problem": "p4", "trace": "   "}, "[1, 2]", {"problem": 5, "trace": "x"}, ""]

def test_bad_lines_are_reported_and_nothing_is_written(tmp_path, capsys):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    good = {"problem": "p1", "trace": "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n#### 9"}
    _write(inp, [good] + BAD_LINES + [{"problem": "p8", "trace": "So the answer is 3 + 4 = 7.\n#### 7"}])
    out.write_text("previous\n")
    rc = main(["extract", str(inp), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 1
    assert f"{inp}:2: bad JSON" in err
    assert f"{inp}:3: missing field 'trace'" in err
    assert f"{inp}:4: field 'trace' is empty" in err
    assert f"{inp}:5: expected a JSON object, got list" in err
    assert f"{inp}:6: field 'problem' is not text" in err
    assert ":7:" not in err                                            # blank lines are skipped, not errors
    assert "5 of 7 records failed" in err and "--skip-bad" in err and "Traceback" not in err
    assert out.read_text() == "previous\n"                             # an existing output is never replaced by a partial one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]

def test_skip_bad_writes_the_good_records(tmp_path, capsys):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(inp, [{"problem": "p1", "trace": "a = <<1+1=2>>2 apples\n#### 2"}] + BAD_LINES + [{"problem": "p8", "trace": "b = <<2+2=4>>4\n#### 4"}])
    assert main(["extract", str(inp), "-o", str(out), "--skip-bad"]) == 0
    assert "skipped 5 of 7 records; wrote 2 records" in capsys.readouterr().err
    assert [r["problem"] for r in _lines(out)] == ["p1", "p8"]

def test_one_bad_record_in_ten_keeps_the_existing_output(tmp_path, capsys):
    "Issue 12: bad JSON on line 7 of 10 used to write the 9 good records over the existing output."
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    lines = [{"problem": f"p{i}", "trace": f"x = <<{i}+1={i + 1}>>{i + 1}\n#### {i + 1}"} for i in range(10)]
    lines[6] = '{"problem": "p6", "trace": '
    _write(inp, lines)
    out.write_text('{"kept": true}\n')
    assert main(["extract", str(inp), "-o", str(out), "-q"]) == 1
    assert out.read_text() == '{"kept": true}\n' and f"{inp}:7: bad JSON" in capsys.readouterr().err

@pytest.mark.parametrize("raw,msg", [
    (b"\xff\xfe{\"problem\": 1}", "not valid UTF-8 (byte 0xff at column 1)"),
    (b'{"problem": "p", "trace": "a \\ud800 b"}', "a string holds a lone surrogate (\\ud800)"),
    (b"[" * 100_000 + b"]" * 100_000, "bad JSON (nested too deeply)"),
])
def test_undecodable_records_are_one_line_errors(tmp_path, capsys, raw, msg):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_bytes(json.dumps({"problem": "p", "trace": "a = <<1+1=2>>2\n#### 2"}).encode() + b"\n" + raw + b"\n")
    assert main(["extract", str(inp), "-o", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert f"{inp}:2: {msg}" in err and "Traceback" not in err and not out.exists()

def test_output_that_is_the_input_is_refused(tmp_path, capsys):
    inp = tmp_path / "in.jsonl"
    _write(inp, [{"problem": "p", "trace": "a = <<1+1=2>>2\n#### 2"}])
    before = inp.read_bytes()
    (tmp_path / "link.jsonl").symlink_to(inp)
    for o in [str(inp), str(tmp_path / "." / "in.jsonl"), str(tmp_path / "link.jsonl")]:
        assert main(["extract", str(inp), "-o", o, "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("is the input file") == 3 and "Traceback" not in err
    assert inp.read_bytes() == before

def test_unwritable_outputs_are_one_line_errors(tmp_path, capsys):
    inp = tmp_path / "in.jsonl"
    _write(inp, [{"problem": "p", "trace": "a = <<1+1=2>>2\n#### 2"}])
    (tmp_path / "adir").mkdir()
    assert main(["extract", str(inp), "-o", str(tmp_path / "adir"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rlkd extract: cannot write {tmp_path / 'adir'}") and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in (tmp_path / "adir").iterdir()) == []        # no temporary file left behind

def test_killed_run_leaves_no_files(tmp_path):
    "SIGTERM in the middle of a run: no output, no hidden temporary file (the output is only written at the end)."
    out = tmp_path / "out.jsonl"
    p = subprocess.Popen([RLKD, "extract", "--builtin", "--n", "100000", "-q", "-o", str(out)], stderr=subprocess.PIPE)
    time.sleep(4); p.send_signal(signal.SIGTERM); p.wait(timeout=60)
    assert p.returncode != 0 and list(tmp_path.iterdir()) == []

def test_usage_errors_exit_2_without_traceback(tmp_path, capsys):
    out = tmp_path / "o.jsonl"
    assert main(["extract", str(tmp_path / "missing.jsonl"), "-o", str(out)]) == 2
    assert main(["extract", "-o", str(out)]) == 2
    assert main(["extract", "--builtin", "--n", "0", "-o", str(out)]) == 2
    assert main(["extract", "--builtin", "-o", str(out), "--backend", "nope"]) == 2
    err = capsys.readouterr().err
    assert "missing.jsonl: no such file" in err and "give either INPUT.jsonl or --builtin" in err
    assert "unknown GSRM 'nope'" in err and "Traceback" not in err
    assert not out.exists()

def test_all_lines_bad_leaves_existing_output(tmp_path, capsys):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    out.write_text("old\n")
    _write(inp, ["{bad", {"x": 1}])
    assert main(["extract", str(inp), "-o", str(out), "-q"]) == 1
    assert out.read_text() == "old\n"
    assert "not written" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]

class Recorder(GSRM):
    "Records batch sizes; raises KeyboardInterrupt in batch `stop`, and fails on problems named 'boom'."
    name = "recorder"
    def __init__(self, stop=None): self.sizes, self.stop = [], stop
    def extract(self, problem, reasoning):
        if problem == "boom": raise RuntimeError("model said no")
        return Structure([Step("m", problem + "?", reasoning[:3])])
    def extract_batch(self, problems, reasonings):
        self.sizes.append(len(problems))
        if self.stop is not None and len(self.sizes) == self.stop: raise KeyboardInterrupt
        return [self.extract(p, r) for p, r in zip(problems, reasonings)]

def test_batches_go_through_extract_batch(tmp_path):
    made = []
    register_gsrm("recorder", lambda **kw: made.append(Recorder(**kw)) or made[-1])
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(inp, [{"problem": f"p{i}", "trace": f"t{i}"} for i in range(10)])
    assert main(["extract", str(inp), "-o", str(out), "--backend", "recorder", "--batch-size", "4", "-q"]) == 0
    assert made[-1].sizes == [4, 4, 2]
    assert [r["teacher_structure"]["steps"][0]["subproblem"] for r in _lines(out)] == [f"p{i}?" for i in range(10)]

def test_failed_batch_falls_back_per_record(tmp_path, capsys):
    register_gsrm("recorder", lambda **kw: Recorder(**kw))
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(inp, [{"problem": "a", "trace": "t"}, {"problem": "boom", "trace": "t"}, {"problem": "c", "trace": "t"}])
    assert main(["extract", str(inp), "-o", str(out), "--backend", "recorder", "-q"]) == 1
    assert f"{inp}:2: extraction failed: RuntimeError: model said no" in capsys.readouterr().err and not out.exists()
    assert main(["extract", str(inp), "-o", str(out), "--backend", "recorder", "-q", "--skip-bad"]) == 0
    assert [r["problem"] for r in _lines(out)] == ["a", "c"]

def test_interrupt_leaves_no_half_written_file(tmp_path, capsys):
    register_gsrm("stopper", lambda **kw: Recorder(stop=2))
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    out.write_text('{"previous": true}\n')
    _write(inp, [{"problem": f"p{i}", "trace": "t"} for i in range(10)])
    assert main(["extract", str(inp), "-o", str(out), "--backend", "stopper", "--batch-size", "3", "-q"]) == 130
    assert out.read_text() == '{"previous": true}\n'                    # old output intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]   # temp file removed
    assert "interrupted" in capsys.readouterr().err

def test_help_lists_options():
    r = subprocess.run([RLKD, "extract", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    for opt in ["--field-problem", "--field-trace", "--backend", "--model", "--builtin", "--n", "-o"]:
        assert opt in r.stdout

class Broken(GSRM):
    "A backend that cannot work at all (like a model that does not load)."
    name = "broken"
    def extract(self, problem, reasoning): raise OSError("model weights not found")

def test_backend_that_always_fails_stops_early(tmp_path, capsys):
    register_gsrm("broken", lambda **kw: Broken())
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(inp, [{"problem": f"p{i}", "trace": "t"} for i in range(50)])
    assert main(["extract", str(inp), "-o", str(out), "--backend", "broken", "-q"]) == 2
    err = capsys.readouterr().err
    assert "the 'broken' GSRM failed: OSError: model weights not found" in err
    assert err.count("model weights not found") == 1 and "Traceback" not in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_legacy_structure_key_is_replaced_not_kept(tmp_path):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text(json.dumps({"problem": "p", "trace": "2+2 = 4.\nThe answer is 4.", "structure": {"steps": []}}) + "\n")
    assert main(["extract", str(inp), "-o", str(out), "-q"]) == 0
    rec = _lines(out)[0]
    assert "structure" not in rec and len(Structure.from_dict(rec["teacher_structure"])) >= 1
