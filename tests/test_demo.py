"""`rlkd demo` end to end: the nano world's report from a tiny run, the tiny model in seconds; the packaged SmolLM2
(slow) with a headless-Chromium screenshot. (The full nano demo runs as the README's first command in test_project.)

Screenshots go to $RLKD_ARTIFACTS (default: artifacts/ at the project root, git-ignored). The browser check is
skipped, with the reason, when no Chromium is installed (Debian: `apt-get install -y chromium`).
"""
import json, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path

import pytest

from browser import find_chromium, screenshot_file

RLKD = str(Path(sys.executable).parent / "rlkd")


def screenshot(page: Path, png: Path, width=1280, height=2000):
    "Screenshot a local HTML file with headless Chromium; returns the PIL image."
    if find_chromium() is None: pytest.skip("no headless Chromium found (apt-get install -y chromium, or set RLKD_CHROMIUM)")
    return screenshot_file(page, png, width, height)


def check_outputs(out: Path, report: str, steps: int):
    assert Path(report) == out / "report.html"
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "Metrics before and after training" in page
    assert "<script src" not in page and "<link " not in page          # self-contained: no external resources
    m = json.loads((out / "metrics.json").read_text())
    recs = json.loads((out / "records.json").read_text())
    mean = lambda xs: sum(xs) / len(xs)
    for side in ("before", "after"):                     # the table's figures are the means of the recorded samples
        samples = [x for r in recs[side] for x in r["samples"]]
        assert m[side]["accuracy"] == pytest.approx(mean([r["pass@1"] for r in recs[side]])), side
        assert m[side]["format_rate"] == pytest.approx(mean([x["format"] for x in samples])), side
        assert m[side]["structure"] == pytest.approx(mean([x["structure"] for x in samples])), side
        assert m[side]["pass@k"] >= m[side]["accuracy"], side
    assert m["config"]["steps"] == steps and m["timings"]["total_s"] > 0
    log = [json.loads(l) for l in (out / "run" / "metrics.jsonl").read_text().splitlines()]
    assert max(r.get("step", 0) for r in log) == steps
    return page, m


@pytest.mark.slow
def test_demo_tiny_model(tmp_path):
    "The whole demo pipeline on the tiny random model (every stage, seconds)."
    out = tmp_path / "demo"
    r = subprocess.run([RLKD, "demo", "--student", "tiny", "--steps", "2", "--n-train", "4", "--n-eval", "2", "--k", "1",
                        "--max-new-tokens", "8", "--judge", "exact", "--output", str(out), "--quiet"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    check_outputs(out, r.stdout.strip().splitlines()[-1], 2)


@pytest.mark.slow
def test_demo_smollm2_renders_in_chromium(tmp_path, artifacts_dir):
    "`rlkd demo` on the packaged SmolLM2 (2 steps), then the report screenshotted in headless Chromium."
    out = tmp_path / "demo"
    t0 = time.time()
    r = subprocess.run([RLKD, "demo", "--student", "smollm2", "--steps", "2", "--n-eval", "2", "--output", str(out)],
                       capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    page, m = check_outputs(out, r.stdout.strip().splitlines()[-1], 2)
    print(f"rlkd demo --steps 2 --n-eval 2: {time.time() - t0:.0f}s; timings {m['timings']}")
    assert "Teacher vs student structure" in page
    shutil.copy(out / "report.html", artifacts_dir / "demo_report.html")
    img = screenshot(out / "report.html", artifacts_dir / "demo_report.png")
    g = img.convert("L")
    hist = g.histogram()
    assert sum(hist[:90]) > 5000, "the page rendered almost no text"
    strip = img.crop((img.width - 14, 0, img.width, img.height)).convert("L")
    assert min(strip.tobytes()) >= 200, "content overflows the right edge"


@pytest.mark.slow
def test_nano_demo_report_renders_in_chromium(tmp_path, artifacts_dir):
    "The nano demo on a student warm-started for 3 steps and 2 GRPO steps per run: every section of the report, in Chromium."
    from rlkd_nb import nano as N
    from rlkd_nb.experiments import run_nano_demo
    student = N.build_student(steps=3, dest=tmp_path / "student")
    report = run_nano_demo(tmp_path / "demo", seeds=(0,), workers=1, n_eval=4, k=2, progress=False, student=student,
                           max_steps=2, per_device_train_batch_size=8, max_completion_length=24)
    page = report.read_text(encoding="utf-8")
    for part in ("RLKD moved teacher-plan adoption from", "Held-out evaluation", "Curves over training steps",
                 "One problem, before and after", "After RLKD", "After outcome-only GRPO", "<svg"):
        assert part in page, part
    assert "<script" not in page.lower() and "<link " not in page
    m = json.loads((tmp_path / "demo" / "metrics.json").read_text())
    assert set(m["summary"]) == {"base", "grpo-outcome", "rlkd"} and not any(s["errors"] for s in m["summary"].values())
    runs = tmp_path / "demo" / "runs" / "plan"
    assert sorted(p.name for p in (runs / "rlkd-s0" / "completions").glob("*.parquet"))      # `rlkd view` can draw the runs
    r = subprocess.run([RLKD, "view", str(runs / "rlkd-s0"), "-o", str(tmp_path / "view.html")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "<svg" in (tmp_path / "view.html").read_text(encoding="utf-8"), r.stderr[-2000:]
    shutil.copy(report, artifacts_dir / "nano_demo_report.html")
    img = screenshot(report, artifacts_dir / "nano_demo_report.png")
    assert sum(img.convert("L").histogram()[:90]) > 5000, "the page rendered almost no text"
