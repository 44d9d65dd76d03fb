"""What the viewer's notebooks (07_logs, 08_viz) cannot hold: `rlkd view` as a command (in process and as a subprocess),
every bad input of issue 12 answered in one line, escaping across every renderer (with a fuzz), TRL-shaped logs, and a real
TRL run's completion logs (slow). The renderer, the prefix tree, the widgets and the dashboard are tested in the notebooks."""
import json, os, re, subprocess, sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as hs

from rlkd_nb.core import Step, Structure, as_structure, write_atomic
from rlkd_nb.viz import render_pair, render_group, render_page, render_structure, render_tree, prefix_tree, TreeView, TrainingDashboard
from rlkd_nb.cli import main as cli_main

XSS = '<script>alert("pwned")</script>'


def st(n, tag="q", final=None):
    "A structure of `n` distinct steps."
    return Structure([Step(f"plan {tag}{i}", f"what is {tag}{i}?", str(i)) for i in range(n)], final_answer=final or str(n))


def n_steps(html):
    return html.count('<details class="rk-step')


def nodes(html):
    "(id, count, trunk) of every tree node drawn."
    return [(i, int(c), t == "1") for i, c, t in re.findall(r'data-id="([\d.]+)" data-count="(\d+)" data-trunk="(\d)"', html)]


# ---------------------------------------------------------------- escaping, across every renderer

def test_model_text_is_escaped_everywhere():
    bad = Structure([Step(XSS, XSS, XSS), Step('" onmouseover="x', "<img src=x onerror=alert(1)>", "&amp;")],
                    final_answer=XSS, warnings=[XSS])
    outs = [render_pair(bad, bad, judge="exact", title=XSS),
            render_group(bad, [bad, XSS], judge="exact", problem=XSS, labels=[XSS, XSS + "2"], extra={XSS: [XSS, 1]}),
            render_page([{"problem": XSS, "teacher_structure": bad.to_dict(), "students": [bad.to_dict()], "title": XSS}], title=XSS, judge="exact"),
            render_structure(bad), render_tree(prefix_tree(bad, [bad, Structure([Step(XSS, XSS + "!", XSS)])], judge="exact", labels=[XSS, XSS]))]
    for out in outs:
        assert "<script" not in out.lower() and "<img" not in out
        assert "&lt;script&gt;" in out
    assert 'onmouseover="x' not in outs[1] and "&amp;amp;" in outs[0]


def test_control_characters_and_surrogates(tmp_path):
    weird = "\x00\x13\x1b[31m\ud800 \u202e<b>"
    s = Structure([Step(weird, weird, weird)], final_answer=weird)
    page = render_page([{"problem": weird, "teacher_structure": s.to_dict(), "students": [s.to_dict(), weird], "labels": [weird, "b"]}],
                       title=weird, judge="exact")
    page.encode("utf-8")                                         # writable as UTF-8
    assert "\x13" not in page and "\x00" not in page and "\u2413" in page and "&lt;b&gt;" in page
    write_atomic(tmp_path / "w.html", page)


OUR_TAGS = {"html", "head", "body", "main", "h1", "h2", "h3", "section", "div", "span", "b", "br", "details", "summary", "table",
            "thead", "tbody", "tr", "th", "td", "colgroup", "col", "svg", "g", "line", "circle", "rect", "path", "text", "title", "nav",
            "a", "code", "i", "p"}


@settings(max_examples=60, deadline=None)
@given(hs.lists(hs.tuples(hs.text(max_size=40), hs.text(max_size=40), hs.text(max_size=20)), max_size=4),
       hs.lists(hs.tuples(hs.text(max_size=40), hs.text(max_size=40), hs.text(max_size=20)), max_size=4),
       hs.text(max_size=30), hs.lists(hs.text(max_size=12), min_size=2, max_size=2))
def test_fuzz_model_text_cannot_inject_markup(t, s, problem, labels):
    T_ = Structure([Step(*x) for x in t]); S_ = Structure([Step(*x) for x in s])
    page = render_page([{"problem": problem, "teacher_structure": T_.to_dict(), "students": [S_.to_dict(), S_.to_dict()], "labels": labels}],
                       judge="exact")
    page.encode("utf-8")
    body = page.split("</style>", 1)[1]
    # two folded pair views and the chosen sample beside the teacher, each drawing both structures
    assert n_steps(body) == 3 * (len(T_) + len(S_)) and "<script" not in body.lower()
    assert set(re.findall(r"<([a-zA-Z][\w-]*)", body)) <= OUR_TAGS         # every tag in the page is one of ours


# ---------------------------------------------------------------- TRL-shaped logs

def trl_completion_table(step, problems, gens, teacher_of):
    """Rows exactly as TRL 1.16 GRPOTrainer.log builds them (conversational prompts and completions)."""
    import pandas as pd
    prompts, comps, acc, strc, extra_steps, adv = [], [], [], [], [], []
    for p in problems:
        for j in range(gens):
            t = teacher_of[p]
            s = Structure(t.steps[: j + 1]) if j % 2 == 0 else Structure(t.steps[:1] + [Step("off", "off?", "0")])
            prompts.append([{"role": "system", "content": "Think in <think> tags."}, {"role": "user", "content": p}])
            comps.append([{"role": "assistant", "content": f"<think>\n{s.to_text()}\n</think>\n<answer>\n\\boxed{{{j}}}\n</answer>"}])
            acc.append(float(j == 0)); strc.append(float(len(s))); extra_steps.append(s.to_text()); adv.append(0.1 * j)
    return pd.DataFrame({"step": [step] * len(prompts), "prompt": prompts, "completion": comps,
                         "accuracy_reward": acc, "structure_reward": strc,           # reward columns (TRL: function names)
                         "rlkd_student_steps": extra_steps, "rlkd_gate_index": [None] * len(prompts),   # log_extra columns
                         "advantage": adv})


@pytest.fixture
def run_dir(tmp_path):
    probs = ["Janet's ducks lay 16 eggs per day.", "A robe takes 2 bolts of blue fiber."]
    teachers = {probs[0]: st(3, "a"), probs[1]: st(4, "b")}
    (tmp_path / "completions").mkdir()
    for step in (1, 2):
        trl_completion_table(step, probs, 4, teachers).to_parquet(tmp_path / "completions" / f"completions_{step:05d}.parquet")
    with open(tmp_path / "teachers.jsonl", "w") as f:
        for p, t in teachers.items(): f.write(json.dumps({"problem": p, "structure": t.to_dict()}) + "\n")   # the legacy key
    return tmp_path, teachers


def test_treeview_reads_trl_parquet(run_dir):
    d, teachers = run_dir
    tv = TreeView(d, teachers=d / "teachers.jsonl", judge="exact")
    assert [o[1] for o in tv.step.options] == [1, 2] and tv.step.value == 2 and len(tv.problem.options) == 2
    g = tv.current_group
    assert g.problem == "Janet's ducks lay 16 eggs per day." and g.step == 2 and len(g.completions) == 4
    assert g.columns["accuracy_reward"] == [1.0, 0.0, 0.0, 0.0] and g.columns["rlkd_gate_index"] == [None] * 4
    # samples 1 and 3 follow the teacher (1 and 3 steps), samples 2 and 4 both leave it at step 2 with the same choice
    assert nodes(tv.html.value) == [("1.1", 4, True), ("2.1", 1, True), ("3.1", 1, True), ("2.2", 2, False)]
    tv.problem.value = tv.problem.options[1][1]
    assert "A robe takes 2 bolts" in tv.html.value and tv.sample.value is None
    tv.step.value = 1                                           # the robe problem stays chosen while scrubbing
    assert tv.current_group.step == 1 and tv.current_group.problem.startswith("A robe")


# ---------------------------------------------------------------- `rlkd view`

def test_cli_view_jsonl_with_raw_completions(tmp_path):
    t = st(3)
    recs = [{"problem": "P1 <b>", "teacher_structure": t.to_dict(), "students": [t.to_dict(), "Okay, first 2+2=4.\n\nThen 4*3=12.\n\nSo the answer is 12."]},
            {"problem": "P2", "structure": t.to_json(), "students": [st(1).to_dict()]}]     # a file written with the legacy key
    src = tmp_path / "in.jsonl"; src.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    out = tmp_path / "page.html"
    assert cli_main(["view", str(src), "-o", str(out), "--judge", "exact"]) == 0
    page = out.read_text()
    assert page.count('<section class="rk-rec"') == 2 and "P1 &lt;b&gt;" in page and "<script" not in page
    assert page.count("<svg") == 2 and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_cli_view_run_dir(run_dir):
    d, _ = run_dir
    out = d / "page.html"
    assert cli_main(["view", str(d), "-o", str(out), "--teachers", str(d / "teachers.jsonl"), "--judge", "exact"]) == 0
    page = out.read_text()
    assert page.count('<section class="rk-rec"') == 2 and "Step 2:" in page and "Step 1:" not in page
    assert cli_main(["view", str(d), "-o", str(out), "--teachers", str(d / "teachers.jsonl"), "--all-steps"]) == 0
    assert out.read_text().count('<section class="rk-rec"') == 4
    assert cli_main(["view", str(d), "-o", str(out), "--step", "7"]) == 2


def test_viewer_shows_logged_verdicts_not_a_rescoring(tmp_path):
    "A run that logged its gates and totals is shown as training saw it, whatever judge the viewer has."
    import pandas as pd
    from rlkd_nb.cli import build_parser
    from rlkd_nb.judges import DEFAULT_JUDGE
    t = st(3, "a")
    (tmp_path / "completions").mkdir()
    (tmp_path / "rlkd_config.json").write_text(json.dumps({"reward_mode": "normalized"}))
    pd.DataFrame({"step": [1, 1], "prompt": ["Q?", "Q?"], "completion": [t.to_text()] * 2, "rlkd_student_steps": [t.to_text()] * 2,
                  "rlkd_teacher_structure": [t.to_json()] * 2, "rlkd_gate_index": [None, 1.0], "rlkd_structure_reward": [1.0, 0.25]}
                 ).to_parquet(tmp_path / "completions" / "completions_00001.parquet")
    out = tmp_path / "p.html"
    assert cli_main(["view", str(tmp_path), "-o", str(out), "--judge", "exact"]) == 0
    page = out.read_text()
    # the exact judge would see two identical structures; the logged gate puts sample 2 off the trunk from step 2
    assert nodes(page) == [("1.1", 2, True), ("2.1", 1, True), ("3.1", 1, True), ("2.2", 1, False), ("3.2", 1, False)]
    assert "structure reward (paper) <b>3</b> / 3" in page and "structure reward (paper) <b>0.75</b> / 3" in page
    assert page.count("meta ✓ (logged)") >= 3 and "The teacher beside sample 2" in page
    view = build_parser()._subparsers._group_actions[0].choices["view"]
    assert next(a for a in view._actions if "--judge" in a.option_strings).default == DEFAULT_JUDGE == "default"


def test_cli_view_notes_missing_teachers(tmp_path, capsys):
    import pandas as pd
    (tmp_path / "completions").mkdir()
    pd.DataFrame({"step": [1, 1], "prompt": ["Q?", "Q?"], "completion": [st(2).to_text(), st(1).to_text()], "advantage": [0.0, 0.0]}
                 ).to_parquet(tmp_path / "completions" / "completions_00001.parquet")
    out = tmp_path / "p.html"
    assert cli_main(["view", str(tmp_path), "-o", str(out)]) == 0
    assert "no teacher structure for 1 of 1 problems" in capsys.readouterr().err
    assert "teacher structure unknown" in out.read_text()
    with pytest.raises(SystemExit) as e: cli_main(["view", str(tmp_path), "-o", str(out), "--judge", "nope"])
    assert e.value.code == 2 and "invalid choice: 'nope'" in capsys.readouterr().err   # choices come from the judge registry


GOOD = {"problem": "x", "teacher_structure": {"steps": [{"meta": "m", "subproblem": "q?", "answer": "1"}]}, "students": ["a"]}

BAD_INPUTS = [   # (file content, what the one-line error must say); issue 12's cases first
    (b'{"problem": "x", "students": ["a"], "accuracy": [Infinity]}\n', "in.jsonl:1: accuracy[0]: expected a finite number"),
    (json.dumps({**GOOD, "students": ["a", "b", "c"], "accuracy": [1]}).encode() + b"\n", "in.jsonl:1: accuracy: 1 values for 3 students"),
    (json.dumps({**GOOD, "extra": "abc"}).encode() + b"\n", "in.jsonl:1: 'extra' must be an object of per-student lists, got str"),
    (json.dumps({**GOOD, "extra": {"r": [1, 2]}}).encode() + b"\n", "in.jsonl:1: extra.r: 2 values for 1 students"),
    (b'{"problem": "x", "students": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n", "in.jsonl:1: JSON nested too deeply"),
    (json.dumps(GOOD).encode() + b'\n{"problem": "\xff\xfe"}\n', "in.jsonl:2: not UTF-8 text (byte 0xff"),
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "in.jsonl:1: not UTF-8 text (byte 0x89"),
    (b'{"problem": "x", "structure": {"steps": []}, "students": []}\n{oops\n', "in.jsonl:2: bad JSON"),
    (b'{"problem": "x"}\n', "needs 'students'"),
    (b'{"problem": "x", "structure": {"steps": [{"meta": "m"}]}, "students": []}\n', "steps[0] is missing 'subproblem'"),
    (b'{"problem": "x", "structure": {"steps": []}, "students": "abc"}\n', "'students' must be a list"),
]


@pytest.mark.parametrize("content,msg", BAD_INPUTS)
def test_cli_view_bad_input(tmp_path, capsys, content, msg):
    src = tmp_path / "in.jsonl"; src.write_bytes(content)
    out = tmp_path / "page.html"; out.write_text("the old page")
    assert cli_main(["view", str(src), "-o", str(out), "--judge", "exact"]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert out.read_text() == "the old page" and src.read_bytes() == content and not list(tmp_path.glob(".*.tmp"))


def test_cli_view_refuses_to_overwrite_its_inputs(run_dir, tmp_path, capsys):
    src = tmp_path / "in.jsonl"; src.write_text(json.dumps(GOOD) + "\n")
    before = src.read_bytes()
    for out in (src, tmp_path / "." / "in.jsonl"):
        assert cli_main(["view", str(src), "-o", str(out)]) == 2
        assert "is an input file" in capsys.readouterr().err and src.read_bytes() == before
    (tmp_path / "link.jsonl").symlink_to(src)
    assert cli_main(["view", str(tmp_path / "link.jsonl"), "-o", str(src)]) == 2 and src.read_bytes() == before
    d, _ = run_dir
    tj = (d / "teachers.jsonl").read_bytes()
    assert cli_main(["view", str(d), "-o", str(d / "teachers.jsonl")]) == 2 and (d / "teachers.jsonl").read_bytes() == tj
    capsys.readouterr()
    assert cli_main(["view", str(d), "-o", str(d / "new.jsonl")]) == 2 and not (d / "new.jsonl").exists()
    assert "would replace a log in the run directory" in capsys.readouterr().err


def test_cli_view_unusable_outputs(tmp_path, capsys, monkeypatch):
    src = tmp_path / "in.jsonl"; src.write_text(json.dumps(GOOD) + "\n")
    (tmp_path / "adir").mkdir()
    assert cli_main(["view", str(src), "-o", str(tmp_path / "adir")]) == 2
    assert "the output is a directory" in capsys.readouterr().err
    assert cli_main(["view", str(src), "-o", str(tmp_path / "no" / "p.html")]) == 2
    assert "output directory does not exist" in capsys.readouterr().err
    if os.geteuid() != 0:                                        # root writes into a read-only directory anyway
        ro = tmp_path / "ro"; ro.mkdir(); ro.chmod(0o555)
        try:
            assert cli_main(["view", str(src), "-o", str(ro / "p.html")]) == 2
            err = capsys.readouterr().err
            assert "cannot write" in err and "ermission denied" in err and err.count("\n") == 1
        finally: ro.chmod(0o755)
    import rlkd_nb.viz as viz
    out = tmp_path / "p.html"; out.write_text("the old page")
    for errno_, text in ((13, "Permission denied"), (28, "No space left on device")):   # what the OS answers, simulated
        def refuse(path, data, e=OSError(errno_, text)): raise e
        monkeypatch.setattr(viz, "write_atomic", refuse)
        assert cli_main(["view", str(src), "-o", str(out)]) == 2
        err = capsys.readouterr().err
        assert err == f"rlkd view: cannot write {out}: {text}\n" and out.read_text() == "the old page"


def test_cli_view_missing_paths(tmp_path, capsys):
    assert cli_main(["view", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "p.html")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    src = tmp_path / "in.jsonl"; src.write_text(json.dumps(GOOD) + "\n")
    assert cli_main(["view", str(src), "-o", str(tmp_path / "p.html"), "--teachers", str(tmp_path / "t.jsonl")]) == 2
    assert "no such teachers file" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli_main(["view", str(tmp_path / "empty"), "-o", str(tmp_path / "p.html")]) == 2
    assert "no completion logs" in capsys.readouterr().err


def test_cli_subprocess_has_no_traceback(tmp_path):
    "The real command in a fresh process: each bad input gives exit code 2 and one stderr line."
    for i, (content, msg) in enumerate([BAD_INPUTS[4], BAD_INPUTS[5], (None, "no such file or directory")]):   # over-deep JSON, non-UTF-8, no file
        src = tmp_path / f"c{i}" / "in.jsonl"; src.parent.mkdir()
        if content is not None: src.write_bytes(content)
        r = subprocess.run([sys.executable, "-c", "import sys; from rlkd_nb.cli import main; sys.exit(main(sys.argv[1:]))",
                            "view", str(src), "-o", str(src.parent / "p.html"), "--judge", "exact"], capture_output=True, text=True)
        assert r.returncode == 2 and "Traceback" not in r.stderr and msg.replace("in.jsonl", str(src)) in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1 and not (src.parent / "p.html").exists()


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    p = tmp_path / "page.html"; p.write_text("old")
    with pytest.raises(TypeError): write_atomic(p, None)
    assert p.read_text() == "old" and list(tmp_path.iterdir()) == [p]


def test_import_is_light():
    code = "import sys, rlkd_nb.viz; print(sorted(m for m in ('matplotlib','ipywidgets','torch','pandas','trl') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_stylesheet_ships_with_the_package():
    "The stylesheet is package data: listed for the wheel, and read through importlib.resources."
    from rlkd_nb.viz import page_css
    root = Path(__file__).resolve().parents[1]
    assert '"templates/*"' in (root / "pyproject.toml").read_text() and (root / "rlkd_nb" / "templates" / "viewer.css").exists()
    assert page_css() == (root / "rlkd_nb" / "templates" / "viewer.css").read_text().strip()


@pytest.mark.slow
def test_real_trl_completion_logs(tmp_path):
    """A two-step GRPO run on the tiny model with log_completions=True; the viewer reads what TRL really wrote."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer
    from rlkd_nb.models import tiny_model
    from rlkd_nb.reward import RLKDReward, accuracy_reward
    model, tok = tiny_model()
    t = st(2, "a")
    rows_ = [{"prompt": [{"role": "user", "content": f"Problem {i}: compute (2+2)*3."}], "answer": "12",
              "problem": f"Problem {i}: compute (2+2)*3.", "teacher_structure": t.to_json()} for i in range(4)]
    cfg = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=4, max_completion_length=12, max_steps=2,
                     logging_steps=1, save_steps=2, log_completions=True, use_cpu=True, bf16=False, report_to=[])
    GRPOTrainer(model=model, processing_class=tok, reward_funcs=[accuracy_reward, RLKDReward(judge="exact")], args=cfg,
                train_dataset=Dataset.from_list(rows_)).train()
    with open(tmp_path / "teachers.jsonl", "w") as f:
        for r in rows_: f.write(json.dumps({"problem": r["problem"], "teacher_structure": t.to_dict()}) + "\n")
    tv = TreeView(tmp_path, judge="exact")
    assert [o[1] for o in tv.step.options] == [1, 2]
    g = tv.current_group
    assert g.step == 2 and len(g.completions) == 4 and g.teacher is not None
    assert {"accuracy_reward", "rlkd_structure", "advantage", "rlkd_gate_index", "rlkd_structure_reward"} <= set(g.columns)
    assert tv.html.value.count('<details class="rk-sample"') == 4 and sum(c for i, c, _ in nodes(tv.html.value) if i.startswith("1.")) <= 4
    out = tmp_path / "page.html"
    assert cli_main(["view", str(tmp_path), "-o", str(out), "--all-steps"]) == 0 and out.read_text().count('<section class="rk-rec"') == 2
    db = TrainingDashboard(tmp_path)
    assert [h["step"] for h in db.history if "reward" in h] == [1, 2] and db.image.value[:4] == b"\x89PNG"
