"""Time the fast test half (`pytest -m "not slow"`) of this tree and, optionally, of an earlier commit; prints JSON.

Each tree runs in a subprocess with the same interpreter; the figures are wall time, the children's CPU time, the
test count and the seconds per test file (from pytest's JUnit XML, setup and teardown included), with the slowest
tests. An earlier commit is checked out into a temporary git worktree, so the two runs share the venv. Run it on an
idle machine: timings taken while other jobs share the cores are not comparable. Usage:
    python benchmarks/test_time.py [--baseline 63942b3] [--output benchmarks/results/test_time.json]
"""
import argparse, json, os, subprocess, sys, tempfile, time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fast_half(tree: Path) -> dict:
    "Run the fast half in `tree`; wall/CPU seconds, counts and per-file seconds."
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "junit.xml"
        env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONWARNINGS": "ignore"}
        cmd = [sys.executable, "-m", "pytest", "-m", "not slow", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}"]
        t0, c0 = time.time(), os.times()
        r = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
        t1, c1 = time.time(), os.times()
        cases = ET.parse(xml).getroot().iter("testcase")
        per_file, slowest, counts = defaultdict(float), [], defaultdict(int)
        for c in cases:
            f = c.get("classname", "").split(".")[1] if "." in c.get("classname", "") else c.get("classname", "")
            t = float(c.get("time", 0))
            per_file[f] += t
            slowest.append((t, f"{f}::{c.get('name')}"))
            kind = next((k.tag for k in c if k.tag in ("failure", "error", "skipped")), "passed")
            counts[kind] += 1
    slowest.sort(reverse=True)
    return {"returncode": r.returncode, "summary": r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "",
            "wall_s": round(t1 - t0, 1),
            "cpu_s": round((c1.children_user + c1.children_system) - (c0.children_user + c0.children_system), 1),
            "tests": dict(counts), "per_file_s": {k: round(v, 1) for k, v in sorted(per_file.items(), key=lambda kv: -kv[1])},
            "slowest": [{"test": n, "s": round(t, 1)} for t, n in slowest[:15]]}


def at_commit(commit: str) -> dict:
    "The fast half of `commit`, run in a temporary worktree."
    with tempfile.TemporaryDirectory() as tmp:
        wt = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(wt), commit], cwd=ROOT, check=True)
        try: return {"commit": commit, **fast_half(wt)}
        finally: subprocess.run(["git", "worktree", "remove", "--force", str(wt)], cwd=ROOT, check=False)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", help="an earlier commit whose fast half is timed first, the same way")
    ap.add_argument("--output", help="also write the JSON here")
    a = ap.parse_args()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    res = {"benchmark": "fast_test_half", "date": time.strftime("%Y-%m-%d"), "cpu_count": os.cpu_count(),
           "load_average_1min_at_start": round(os.getloadavg()[0], 2)}
    if a.baseline: res["baseline"] = at_commit(a.baseline)
    res["current"] = {"commit": head, **fast_half(ROOT)}
    res["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    out = json.dumps(res, indent=1)
    print(out)
    if a.output: Path(a.output).write_text(out + "\n")
