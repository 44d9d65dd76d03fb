"""Time the fast test half (`pytest -m "not slow"`) of this tree, serially and/or with the README's pytest-xdist options, and
optionally of an earlier commit (serially); prints JSON.

Each run is a subprocess with the same interpreter; the figures are wall time, the CPU time of the run's processes (user +
system of pytest and everything it waited for: xdist workers, CLI subprocesses, notebook runs), the test count, and from
pytest's JUnit XML the seconds per test file and the slowest tests (setup and teardown included). Where the tree's
tests/conftest.py has the `--cpu-times` option, each test's CPU seconds are recorded too (`cpu_s` beside `s`), and per
xdist worker its tests, its seconds busy in tests and when (seconds after the start) its last test ended.
`--mode xdist` runs the fast half with the pytest options of the README's test command (`<!-- test-command -->`),
e.g. `-n 2 --dist worksteal`, so the figure is the one a contributor or CI gets. An earlier commit is checked out into
a temporary git worktree, so the runs share the venv. Run it on an idle machine: timings taken while other jobs share
the cores are not comparable (the 1-minute load average is recorded before and after each run). Usage:
    python benchmarks/test_time.py [--mode serial|xdist|both] [--baseline 63942b3] [--output benchmarks/results/test_time.json]
"""
import argparse, json, os, re, shlex, subprocess, sys, tempfile, time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_pytest_args(tree: Path = ROOT) -> list[str]:
    "The options after `python -m pytest` in the README's test command (e.g. ['-n', '2', '--dist', 'worksteal'])."
    text = (tree / "README.md").read_text()
    m = re.search(r"<!-- test-command -->\s*```(?:bash|sh)?\n(.*?)```", text, re.S)
    if not m: raise SystemExit("README.md has no <!-- test-command --> block")
    for part in re.split(r"&&|;|\|\|", m.group(1)):
        words = shlex.split(part)
        if words[:3] == ["python", "-m", "pytest"]: return words[3:]
    raise SystemExit(f"no `python -m pytest` in the README's test command: {m.group(1).strip()}")


def fast_half(tree: Path, extra: list[str] = ()) -> dict:
    "Run the fast half in `tree` with `extra` pytest options; wall/CPU seconds, counts and per-file seconds."
    cpu_times = "--cpu-times" in (tree / "tests" / "conftest.py").read_text()
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "junit.xml"
        env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONWARNINGS": "ignore"}
        cmd = [sys.executable, "-m", "pytest", "-m", "not slow", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}",
               *(["--cpu-times"] if cpu_times else []), *extra]
        load0, t0, c0 = os.getloadavg()[0], time.time(), os.times()
        r = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
        t1, c1, load1 = time.time(), os.times(), os.getloadavg()[0]
        per_file, per_file_cpu, slowest, counts = defaultdict(float), defaultdict(float), [], defaultdict(int)
        workers = defaultdict(lambda: {"tests": 0, "busy_s": 0.0, "cpu_s": 0.0, "done_at_s": 0.0})
        for c in ET.parse(xml).getroot().iter("testcase"):
            cls = c.get("classname", "")
            f = cls.split(".")[1] if "." in cls else cls
            t = float(c.get("time", 0))
            props = {p.get("name"): p.get("value") for p in c.iter("property")}
            cpu = float(props["test_cpu_s"]) if "test_cpu_s" in props else None
            per_file[f] += t
            if cpu is not None: per_file_cpu[f] += cpu
            if "worker" in props:        # where and when each test ended: the balance between xdist workers
                w = workers[props["worker"]]
                w["tests"] += 1; w["busy_s"] += t; w["cpu_s"] += cpu
                w["done_at_s"] = max(w["done_at_s"], float(props["ended_at"]) - t0)
            slowest.append((t, f"{f}::{c.get('name')}", cpu))
            kind = next((k.tag for k in c if k.tag in ("failure", "error", "skipped")), "passed")
            counts[kind] += 1
    slowest.sort(key=lambda x: -x[0])
    out = {"command": "python -m pytest -m 'not slow' " + " ".join(extra), "returncode": r.returncode,
           "summary": r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "",
           "wall_s": round(t1 - t0, 1),
           "cpu_s": round((c1.children_user + c1.children_system) - (c0.children_user + c0.children_system), 1),
           "load_average_1min": [round(load0, 2), round(load1, 2)],
           "tests": dict(counts), "per_file_s": {k: round(v, 1) for k, v in sorted(per_file.items(), key=lambda kv: -kv[1])}}
    if per_file_cpu:
        out["tests_cpu_s"] = round(sum(per_file_cpu.values()), 1)   # the tests alone: without collection and worker start-up
        out["per_file_cpu_s"] = {k: round(v, 1) for k, v in sorted(per_file_cpu.items(), key=lambda kv: -kv[1])}
    if workers: out["workers"] = {k: {kk: round(vv, 1) for kk, vv in v.items()} for k, v in sorted(workers.items())}
    out["slowest"] = [{"test": n, "s": round(t, 1), **({"cpu_s": round(c, 1)} if c is not None else {})} for t, n, c in slowest[:15]]
    return out


def at_commit(commit: str) -> dict:
    "The fast half of `commit`, run serially in a temporary worktree."
    with tempfile.TemporaryDirectory() as tmp:
        wt = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(wt), commit], cwd=ROOT, check=True)
        try: return {"commit": commit, **fast_half(wt)}
        finally: subprocess.run(["git", "worktree", "remove", "--force", str(wt)], cwd=ROOT, check=False)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=["serial", "xdist", "both"], default="both",
                    help="serial: plain pytest; xdist: with the README's pytest options; both (default): serial first")
    ap.add_argument("--baseline", help="an earlier commit whose fast half is timed first, serially")
    ap.add_argument("--output", help="also write the JSON here")
    a = ap.parse_args()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True).stdout.strip())
    res = {"benchmark": "fast_test_half", "date": time.strftime("%Y-%m-%d"), "cpu_count": os.cpu_count(),
           "load_average_1min_at_start": round(os.getloadavg()[0], 2)}
    if a.baseline: res["baseline"] = at_commit(a.baseline)
    tree = {"commit": head + ("+changes" if dirty else "")}
    if a.mode in ("serial", "both"): res["current"] = {**tree, **fast_half(ROOT)}
    if a.mode in ("xdist", "both"):
        opts = readme_pytest_args()
        res["current_xdist"] = {**tree, "readme_pytest_args": opts, **fast_half(ROOT, opts)}
    res["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    out = json.dumps(res, indent=1)
    print(out)
    if a.output: Path(a.output).write_text(out + "\n")
