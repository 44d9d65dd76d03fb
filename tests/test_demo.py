"""`rlkd demo` end to end: the tiny model in seconds; the packaged SmolLM2 (slow) with a headless-Chromium screenshot.

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
    for side in ("before", "after"):
        for key in ("accuracy", "pass@k", "format_rate", "structure"):
            assert 0 <= m[side][key] <= 1, (side, key)
    assert m["config"]["steps"] == steps and m["timings"]["total_s"] > 0
    log = [json.loads(l) for l in (out / "run" / "metrics.jsonl").read_text().splitlines()]
    assert max(r.get("step", 0) for r in log) == steps
    return page, m


@pytest.mark.slow
def test_demo_tiny_model(tmp_path):
    "The whole demo pipeline on the tiny random model (every stage, seconds)."
    out = tmp_path / "demo"
    r = subprocess.run([RLKD, "demo", "--model", "tiny", "--steps", "2", "--n-train", "4", "--n-eval", "2", "--k", "1",
                        "--max-new-tokens", "8", "--judge", "exact", "--output", str(out), "--quiet"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    check_outputs(out, r.stdout.strip().splitlines()[-1], 2)


@pytest.mark.slow
def test_demo_smollm2_renders_in_chromium(tmp_path, artifacts_dir):
    "`rlkd demo` on the packaged SmolLM2 (2 steps), then the report screenshotted in headless Chromium."
    out = tmp_path / "demo"
    t0 = time.time()
    r = subprocess.run([RLKD, "demo", "--steps", "2", "--n-eval", "2", "--output", str(out)],
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
