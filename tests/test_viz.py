"""Tests of rlkd_nb.viz and rlkd_nb.logs: the HTML renderer, log readers, widgets, dashboard and `rlkd view`."""
import json, os, re, subprocess, sys
from pathlib import Path

import pytest

from rlkd_nb.core import Step, Structure
from rlkd_nb import viz
from rlkd_nb.viz import (render_pair, render_group, render_page, render_structure, render_result, wrap_page, page_css,
                         TreeView, RewardPlayground, TrainingDashboard, plot_dashboard)
from rlkd_nb.logs import load_groups, load_log_history
from rlkd_nb.core import write_atomic
from rlkd_nb.judges import get_judge
from rlkd_nb.reward import structure_reward
from rlkd_nb.cli import main as cli_main

EXACT = get_judge("exact")
XSS = '<script>alert("pwned")</script>'


def st(n, tag="q", final=None):
    "A structure of `n` distinct steps."
    return Structure([Step(f"plan {tag}{i}", f"what is {tag}{i}?", str(i)) for i in range(n)], final_answer=final or str(n))


def rows(html):
    "(status, k) of every aligned row, in order."
    return [(s, int(k)) for s, k in re.findall(r'class="rk-row rk-([\w-]+)" data-k="(\d+)"', html)]


def n_steps(html):
    return html.count('<details class="rk-step')


@pytest.fixture
def teacher():
    return st(5)


@pytest.fixture
def student(teacher):
    s = Structure([Step(x.meta, x.subproblem, x.answer) for x in teacher.steps[:4]], final_answer="3")
    s.steps[1].subproblem = "a different question"     # sub-problem halved
    s.steps[2].meta = "go somewhere else"                # the gate
    return s


# ---------------------------------------------------------------- renderer

def test_pair_counts_and_gate_rows(teacher, student):
    r = structure_reward(teacher, student, judge=EXACT)
    assert r.gate_index == 2 and r.total == 1.5
    h = render_pair(teacher, student, r)
    assert n_steps(h) == 9
    assert rows(h) == [("full", 0), ("sub", 1), ("mismatch", 2), ("gated", 3), ("unpaired", 4)]
    assert "gate: the student leaves the teacher's structure at step 3" in h
    assert "structure reward (paper) <b>1.5</b>" in h and "normalized <b>0.3</b>" in h and "<b>4/5</b>" in h


def test_pair_computes_result_with_judge(teacher, student):
    h = render_pair(teacher, student, judge="exact")
    assert rows(h)[2] == ("mismatch", 2)
    unscored = render_pair(teacher, student, judge=None)
    assert {s for s, _ in rows(unscored)} == {"none", "unpaired"} and "structure reward" not in unscored


def test_answer_halved_and_both(teacher):
    s = Structure([Step(x.meta, x.subproblem, x.answer) for x in teacher.steps])
    s.steps[0].answer = "wrong"
    s.steps[1].answer = "wrong"; s.steps[1].subproblem = "other"
    r = structure_reward(teacher, s, judge=EXACT)
    assert [x for x, _ in rows(render_pair(teacher, s, r))] == ["ans-half", "both", "full", "full", "full"]
    assert 'width:25%' in render_pair(teacher, s, r)


def test_model_text_is_escaped(teacher):
    bad = Structure([Step(XSS, XSS, XSS), Step('" onmouseover="x', "<img src=x onerror=alert(1)>", "&amp;")],
                    final_answer=XSS, warnings=[XSS])
    h = render_pair(bad, bad, judge="exact", title=XSS)
    g = render_group(bad, [bad, XSS], judge="exact", problem=XSS, labels=[XSS, XSS])
    p = render_page([{"problem": XSS, "teacher_structure": bad.to_dict(), "students": [bad.to_dict()], "title": XSS}], title=XSS)
    for out in (h, g, p, render_structure(bad)):
        assert "<script" not in out.lower() and "<img" not in out
        assert "&lt;script&gt;" in out
    assert 'onmouseover="x' not in g and "&amp;amp;" in h


def test_group_branches_at_gates(teacher):
    full = Structure(list(teacher.steps))
    leave1 = Structure(teacher.steps[:1] + [Step("elsewhere", "?", "0")] + teacher.steps[2:])
    short = Structure(teacher.steps[:2])
    g = render_group(teacher, [full, leave1, short, Structure()], judge="exact", accuracy=[1, 0, None, 0])
    assert re.findall(r'data-gate="(\d*)"', g) == ["", "1", "", ""]
    assert "leaves at 2" in g and "follows all" in g and "stops at 2" in g and "stops at 0" in g
    assert g.count('<details class="rk-sample"') == 4
    assert n_steps(g) == 4 * 5 + 5 + 5 + 2 + 0
    # the trunk thins as samples leave: 3 samples reach step 1, 2 reach step 2, 1 reaches steps 3..5
    widths = [float(w) for w in re.findall(r'class="rk-trunk"[^>]*stroke-width="([\d.]+)"', g)]
    assert widths[0] > widths[1] > widths[2] == widths[4]


def test_long_and_empty_structures_keep_layout():
    t60 = st(60, "t")
    s5 = st(5, "t")
    long_word = "x" * 5000
    s5.steps[3] = Step("m " * 400, long_word, "y" * 800)
    h = render_pair(t60, s5, judge="exact")
    assert n_steps(h) == 65
    assert "49 more teacher-only steps" in h          # the unpaired tail folds after 6 rows
    assert long_word in h                              # nothing is cut, CSS wraps it
    assert "overflow-wrap:anywhere" in page_css() and "minmax(0,1fr)" in page_css()
    e = render_pair(Structure(), Structure(), judge="exact")
    assert n_steps(e) == 0 and "<b>0/0</b>" in e and "no steps on either side" in e
    eg = render_group(Structure(), [Structure(), s5], judge="exact")
    assert "stops at 0" in eg and n_steps(eg) == 5
    assert "no records" in render_page([])


def test_structure_and_result_display(teacher, student):
    assert teacher._repr_html_() == render_structure(teacher)
    assert n_steps(teacher._repr_html_()) == 5
    r = structure_reward(teacher, student, judge=EXACT)
    rr = render_result(r)
    assert [s for s, _ in rows(rr)] == ["full", "sub", "mismatch", "gated"]
    assert n_steps(render_result(r, teacher, student)) == 9


def test_fragment_api():
    frag = render_group(st(2), [st(2)], judge="exact", css=False)
    assert "<style>" not in frag
    page = wrap_page(frag, "Report")
    assert page.count("<style>") == 1 and "<title>Report</title>" in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert isinstance(frag, str) and frag._repr_html_() == frag


# ---------------------------------------------------------------- log readers

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
    table = {"step": [step] * len(prompts), "prompt": prompts, "completion": comps,
             "accuracy_reward": acc, "structure_reward": strc,           # reward columns (TRL: function names)
             "rlkd_student_steps": extra_steps, "rlkd_gate_index": [None] * len(prompts),   # log_extra columns
             "advantage": adv}
    return pd.DataFrame(table)


@pytest.fixture
def run_dir(tmp_path):
    probs = ["Janet's ducks lay 16 eggs per day.", "A robe takes 2 bolts of blue fiber."]
    teachers = {probs[0]: st(3, "a"), probs[1]: st(4, "b")}
    (tmp_path / "completions").mkdir()
    for step in (1, 2):
        trl_completion_table(step, probs, 4, teachers).to_parquet(tmp_path / "completions" / f"completions_{step:05d}.parquet")
    with open(tmp_path / "teachers.jsonl", "w") as f:
        for p, t in teachers.items(): f.write(json.dumps({"problem": p, "structure": t.to_dict()}) + "\n")
    return tmp_path, teachers


def test_treeview_reads_trl_parquet(run_dir):
    d, teachers = run_dir
    tv = TreeView(d, teachers=d / "teachers.jsonl", judge="exact")
    assert [o[1] for o in tv.step.options] == [None, 1, 2] and tv.step.value == 2
    assert len(tv.problem.options) == 2
    g = tv.current_group
    assert g.problem == "Janet's ducks lay 16 eggs per day." and g.step == 2 and len(g.completions) == 4
    assert g.columns["accuracy_reward"] == [1.0, 0.0, 0.0, 0.0] and g.columns["rlkd_gate_index"] == [None] * 4
    h = tv.html.value
    assert h.count('<details class="rk-sample"') == 4
    assert re.findall(r'data-gate="(\d*)"', h) == ["", "1", "", "1"]
    tv.sample.value = 2                                          # the third sample: 3 steps, follows all
    assert n_steps(tv.html.value) == 6 and rows(tv.html.value) == [("full", 0), ("full", 1), ("full", 2)]
    tv.problem.value = tv.problem.options[1][1]
    assert tv.sample.value == -1 and "A robe takes 2 bolts" in tv.html.value
    tv.step.value = None                                         # all steps: both logged steps' groups
    assert len(tv.problem.options) == 4


def test_treeview_extracts_raw_completions_when_no_structure_logged(tmp_path):
    import pandas as pd
    t = st(2, "a")
    (tmp_path / "completions").mkdir()
    pd.DataFrame({"step": [3, 3], "prompt": ["Q?", "Q?"], "completion": [t.to_text(), "Okay. First, 2 + 2 = 4.\n\nThen 4 * 3 = 12.\n\nSo the answer is 12."],
                  "advantage": [0.5, -0.5]}).to_parquet(tmp_path / "completions" / "completions_00003.parquet")
    g = load_groups(tmp_path, teachers={"Q?": t.to_dict()})[0]
    students = viz.group_structures(g)
    assert len(students[0]) == 2 and all(isinstance(s, Structure) for s in students)
    tv = TreeView(tmp_path, teachers={"Q?": t.to_dict()}, judge="exact")
    assert tv.html.value.count('<details class="rk-sample"') == 2


def test_treeview_reads_our_jsonl(tmp_path):
    t = st(3)
    view = tmp_path / "view.jsonl"
    view.write_text(json.dumps({"problem": "P1", "teacher_structure": t.to_dict(), "students": [t.to_dict(), st(2).to_text()], "accuracy": [1, 0]}) + "\n")
    tv = TreeView(view, judge="exact")
    assert tv.step.options == (("all", None),) and n_steps(tv.html.value) == 3 * 2 + 3 + 2
    flat = tmp_path / "flat.jsonl"
    flat.write_text("".join(json.dumps({"step": s, "problem": "P", "teacher_structure": t.to_dict(), "completion": t.to_text(), "reward": 1.0}) + "\n"
                            for s in (1, 1, 2)))
    tv2 = TreeView(flat, judge="exact")
    assert [o[1] for o in tv2.step.options] == [None, 1, 2]
    tv2.step.value = 1
    assert len(tv2.current_group.completions) == 2 and tv2.current_group.columns["reward"] == [1.0, 1.0]


# ---------------------------------------------------------------- widgets

def test_playground_updates_live():
    t = st(3)
    pg = RewardPlayground(t, judge="exact")
    assert pg.result.total == 3.0
    pg.step.value = 2
    assert pg.meta.value == "plan q2"                          # the boxes follow the chosen step
    pg.subproblem.value = "changed"
    assert pg.result.total == 2.5 and "total (paper): 2.5" in pg.total.value
    pg.step.value = 0; pg.meta.value = "another plan"
    assert pg.result.gate_index == 0 and pg.result.total == 0.0
    assert [s for s, _ in rows(pg.html.value)] == ["mismatch", "gated", "gated"]
    pg.mode.value = "normalized"; pg.meta.value = "plan q0"
    assert pg.result.total == pytest.approx(2.5 / 3)
    pg.judge.value = "lexical"
    assert pg.result is not None and pg.error is None
    pg.gsrm_text.value = st(5).to_text()
    assert len(pg.student) == 5 and [o[1] for o in pg.step.options] == [0, 1, 2, 3, 4]
    pg.add_btn.click(); assert len(pg.student) == 6 and pg.step.value == 5
    pg.del_btn.click(); pg.del_btn.click(); assert len(pg.student) == 4


def test_playground_reports_a_failing_judge():
    pg = RewardPlayground(st(2), judge="exact", judges=("exact", "no-such-judge"))
    pg.judge.value = "no-such-judge"
    assert pg.result is None and "unknown judge" in pg.error and "failed" in pg.total.value


# ---------------------------------------------------------------- dashboard

def _write_run(d, steps, checkpoint_steps):
    logs = [{"step": s, "loss": 0.1, "reward": 5 + s, "reward_std": 1.0, "rewards/accuracy_reward/mean": s / 10,
             "rewards/structure_reward/mean": s / 5, "frac_reward_zero_std": 0.5 - s / 100, "completions/mean_length": 100 + s,
             "completions/max_length": 120 + s, "rlkd/meta_match_rate": 0.5, "rlkd/student_steps": 3.0} for s in steps]
    ck = d / f"checkpoint-{max(checkpoint_steps)}"; ck.mkdir(parents=True, exist_ok=True)
    (ck / "trainer_state.json").write_text(json.dumps({"global_step": max(checkpoint_steps), "log_history":
                                                       [l for l in logs if l["step"] in checkpoint_steps] + [{"step": max(checkpoint_steps), "train_runtime": 9.0}]}))
    return logs


def test_dashboard_from_trainer_state_only(tmp_path):
    _write_run(tmp_path, [1, 2, 3], [1, 2, 3])
    hist = load_log_history(tmp_path)
    assert [h["step"] for h in hist if "reward" in h] == [1, 2, 3]
    fig = plot_dashboard(hist)
    titles = [a.get_title() for a in fig.axes]
    assert titles[:4] == ["reward components", "structure sub-metrics", "frac_reward_zero_std", "completion length"]
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["accuracy_reward", "structure_reward", "reward (right)"]   # the weighted total has its own axis
    assert list(fig.axes[2].get_lines()[0].get_xdata()) == [1, 2, 3]


def test_dashboard_merges_metrics_jsonl_and_refreshes(tmp_path):
    logs = _write_run(tmp_path, [1, 2, 3, 4], [1, 2])
    with open(tmp_path / "metrics.jsonl", "w") as f:
        for l in logs[1:3]: f.write(json.dumps(l) + "\n")
        f.write('{"step": 9, "rew')                                     # a line cut by a kill is skipped
    db = TrainingDashboard(tmp_path)
    assert [h["step"] for h in db.history if "reward" in h] == [1, 2, 3]
    assert db.image.value[:4] == b"\x89PNG" and "steps 1–3" in db.info.value
    with open(tmp_path / "metrics.jsonl", "a") as f: f.write("\n" + json.dumps(logs[3]) + "\n")
    db.refresh_btn.click()
    assert [h["step"] for h in db.history if "reward" in h] == [1, 2, 3, 4]
    assert list(db.figure.axes[0].get_lines()[0].get_xdata()) == [1, 2, 3, 4]


def test_dashboard_missing_dir(tmp_path):
    with pytest.raises(FileNotFoundError): load_log_history(tmp_path / "nope")


# ---------------------------------------------------------------- CLI

def test_cli_view_jsonl_with_raw_completions(tmp_path, capsys):
    t = st(3)
    recs = [{"problem": "P1 <b>", "teacher_structure": t.to_dict(), "students": [t.to_dict(), "Okay, first 2+2=4.\n\nThen 4*3=12.\n\nSo the answer is 12."]},
            {"problem": "P2", "structure": t.to_json(), "students": [st(1).to_dict()]}]     # a file written with the legacy key
    src = tmp_path / "in.jsonl"; src.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    out = tmp_path / "page.html"
    assert cli_main(["view", str(src), "-o", str(out), "--judge", "exact"]) == 0
    page = out.read_text()
    assert page.count('<section class="rk-rec"') == 2 and "P1 &lt;b&gt;" in page and "<script" not in page
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_cli_view_run_dir(run_dir):
    d, _ = run_dir
    out = d / "page.html"
    assert cli_main(["view", str(d), "-o", str(out), "--teachers", str(d / "teachers.jsonl"), "--judge", "exact"]) == 0
    page = out.read_text()
    assert page.count('<section class="rk-rec"') == 2 and "Step 2:" in page and "Step 1:" not in page
    assert cli_main(["view", str(d), "-o", str(out), "--teachers", str(d / "teachers.jsonl"), "--all-steps"]) == 0
    assert out.read_text().count('<section class="rk-rec"') == 4
    assert cli_main(["view", str(d), "-o", str(out), "--step", "7"]) == 2


@pytest.mark.parametrize("content,msg", [
    ('{"problem": "x", "structure": {"steps": []}, "students": []}\n{oops\n', "in.jsonl:2: bad JSON"),
    ('{"problem": "x"}\n', "needs 'students'"),
    ('{"problem": "x", "structure": {"steps": [{"meta": "m"}]}, "students": []}\n', "steps[0] is missing 'subproblem'"),
    ('{"problem": "x", "structure": {"steps": []}, "students": "abc"}\n', "'students' must be a list"),
])
def test_cli_view_bad_input(tmp_path, capsys, content, msg):
    src = tmp_path / "in.jsonl"; src.write_text(content)
    out = tmp_path / "page.html"
    assert cli_main(["view", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob("*.tmp"))


def test_cli_view_missing_paths(tmp_path, capsys):
    assert cli_main(["view", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "p.html")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    src = tmp_path / "in.jsonl"; src.write_text('{"problem": "x", "structure": {"steps": []}, "students": []}\n')
    assert cli_main(["view", str(src), "-o", str(tmp_path / "no" / "p.html")]) == 2
    assert "output directory does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli_main(["view", str(tmp_path / "empty"), "-o", str(tmp_path / "p.html")]) == 2
    assert "no completion logs" in capsys.readouterr().err


def test_cli_subprocess_has_no_traceback(tmp_path):
    r2 = subprocess.run([sys.executable, "-c", "import sys; from rlkd_nb.cli import main; sys.exit(main(['view', sys.argv[1]]))", str(tmp_path / "x.jsonl")],
                        capture_output=True, text=True)
    assert r2.returncode == 2 and "Traceback" not in r2.stderr and "no such file" in r2.stderr


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    p = tmp_path / "page.html"; p.write_text("old")
    with pytest.raises(TypeError): write_atomic(p, None)
    assert p.read_text() == "old" and list(tmp_path.iterdir()) == [p]


def test_import_is_light():
    code = "import sys, rlkd_nb.viz; print(sorted(m for m in ('matplotlib','ipywidgets','torch','pandas','trl') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_run_dir_finds_teacher_records_itself(run_dir):
    d, teachers = run_dir
    tv = TreeView(d, judge="exact")                              # teachers.jsonl in the run dir is picked up
    assert as_teacher_len(tv) == 3 and "teacher <b>3</b> steps" in tv.html.value


def as_teacher_len(tv):
    from rlkd_nb.core import as_structure
    return len(as_structure(tv.current_group.teacher))


def test_control_characters_and_surrogates(tmp_path):
    weird = "\x00\x13\x1b[31m\ud800 \u202e<b>"
    s = Structure([Step(weird, weird, weird)], final_answer=weird)
    page = render_page([{"problem": weird, "teacher_structure": s.to_dict(), "students": [s.to_dict(), weird]}], title=weird, judge="exact")
    page.encode("utf-8")                                         # writable as UTF-8
    assert "\x13" not in page and "\x00" not in page and "\u2413" in page and "&lt;b&gt;" in page
    write_atomic(tmp_path / "w.html", page)


from hypothesis import given, settings, strategies as hs

@settings(max_examples=60, deadline=None)
@given(hs.lists(hs.tuples(hs.text(max_size=40), hs.text(max_size=40), hs.text(max_size=20)), max_size=4),
       hs.lists(hs.tuples(hs.text(max_size=40), hs.text(max_size=40), hs.text(max_size=20)), max_size=4), hs.text(max_size=30))
def test_fuzz_model_text_cannot_inject_markup(t, s, problem):
    T_ = Structure([Step(*x) for x in t]); S_ = Structure([Step(*x) for x in s])
    page = render_page([{"problem": problem, "teacher_structure": T_.to_dict(), "students": [S_.to_dict(), S_.to_dict()]}], judge="exact")
    page.encode("utf-8")
    body = page.split("</style>", 1)[1]
    assert n_steps(body) == 2 * (len(T_) + len(S_)) and "<script" not in body.lower()
    # every tag in the page is one of ours
    assert set(re.findall(r"<([a-zA-Z][\w-]*)", body)) <= {"html", "head", "body", "main", "h1", "h2", "h3", "section", "div", "span", "b",
        "details", "summary", "table", "thead", "tbody", "tr", "th", "td", "svg", "g", "line", "circle", "rect", "path", "text",
        "title", "nav", "a", "code", "i", "p"}


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
    assert [o[1] for o in tv.step.options] == [None, 1, 2]
    g = tv.current_group
    assert g.step == 2 and len(g.completions) == 4 and g.teacher is not None
    assert {"accuracy_reward", "rlkd_structure", "advantage", "rlkd_gate_index", "rlkd_structure_reward"} <= set(g.columns)
    assert tv.html.value.count('<details class="rk-sample"') == 4
    out = tmp_path / "page.html"
    assert cli_main(["view", str(tmp_path), "-o", str(out), "--all-steps"]) == 0 and out.read_text().count('<section class="rk-rec"') == 2
    db = TrainingDashboard(tmp_path)
    assert [h["step"] for h in db.history if "reward" in h] == [1, 2] and db.image.value[:4] == b"\x89PNG"


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
    assert re.findall(r'data-gate="(\d*)"', page) == ["", "1"]       # the exact judge would see two identical structures
    assert "structure reward (paper) <b>3</b> / 3" in page and "structure reward (paper) <b>0.75</b> / 3" in page
    assert page.count("meta ✓ (logged)") >= 3
    view = build_parser()._subparsers._group_actions[0].choices["view"]
    assert next(a for a in view._actions if "--judge" in a.option_strings).default == DEFAULT_JUDGE == "default"
