"""Heuristic GSRM throughput on long R1 traces, one core (dev data; prints one JSON object).

The 37 dev traces are repeated to `--n` traces and extracted in one process (one thread, so one core); reports
traces/second by wall clock and by process CPU time (best of `--repeats` runs). On a shared, loaded machine the
CPU-time figure is the one-core throughput; the wall-clock figure includes time the process waited for a core.
`--against COMMIT [COMMIT ...]` also runs the extractor of each commit (its rlkd_nb/gsrm.py, loaded from git), the
runs interleaved (one repeat of each in turn), so a machine whose speed drifts by tens of percent within minutes (a
shared virtual machine) compares them in the same phase; each gets `traces_per_cpu_second` and its ratio to the current one.
The JSON is also written to benchmarks/results/gsrm_throughput.json (`--out -` to only print it)."""
import argparse, importlib.util, json, os, subprocess, time
from pathlib import Path
from rlkd_nb.gsrm import HeuristicGSRM

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "gsrm_throughput.json"
DATA = Path(os.environ.get("RLKD_DEV_DATA", ROOT.parent / "shared" / "data")) / "r1_traces" / "dev.jsonl"

def gsrm_at(commit: str):
    "The heuristic GSRM of rlkd_nb/gsrm.py as of `commit`, loaded from git into a side module."
    src = subprocess.run(["git", "show", f"{commit}:rlkd_nb/gsrm.py"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    mod = importlib.util.module_from_spec(importlib.util.spec_from_loader(f"rlkd_nb._gsrm_{commit}", loader=None))
    mod.__package__ = "rlkd_nb"
    exec(compile(src, f"gsrm.py@{commit}", "exec"), mod.__dict__)
    return mod.HeuristicGSRM()

def throughput(path=DATA, n=2000, repeats=3, against=()) -> dict:
    rows = [json.loads(l) for l in open(path, encoding="utf-8")]
    probs, traces = [r["problem"] for r in rows], [r["trace"] for r in rows]
    k = -(-n // len(rows))
    probs, traces = (probs * k)[:n], (traces * k)[:n]
    gs = {"current": HeuristicGSRM(), **{c: gsrm_at(c) for c in against}}
    for g in gs.values(): g.extract_batch(probs[:37], traces[:37])   # warm-up
    best, best_cpu, out = {}, {}, None
    for _ in range(repeats):
        for name, g in gs.items():       # interleaved: every extractor once per round
            t0, c0 = time.perf_counter(), time.process_time()
            o = g.extract_batch(probs, traces)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            if name == "current": out = o
            best[name], best_cpu[name] = min(best.get(name, dt), dt), min(best_cpu.get(name, dc), dc)
    chars = sum(map(len, traces))
    b, bc = best["current"], best_cpu["current"]
    res = {"traces": n, "wall_seconds": round(b, 4), "traces_per_second": round(n / b, 1),
           "cpu_seconds": round(bc, 4), "traces_per_cpu_second": round(n / bc, 1),
           "chars_per_second": round(chars / b), "mean_chars_per_trace": round(chars / n),
           "steps_total": sum(len(s) for s in out), "threads": 1, "cpu_count": os.cpu_count(),
           "load_average_1min": round(os.getloadavg()[0], 2)}
    if against: res["against"] = {c: {"traces_per_cpu_second": round(n / best_cpu[c], 1), "current_speed_over_this": round(best_cpu[c] / bc, 3)} for c in against}
    return res

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(DATA)); ap.add_argument("--n", type=int, default=2000); ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(OUT), help="where to write the JSON ('-': only print it)")
    ap.add_argument("--against", nargs="*", default=[], help="git commits whose extractor runs interleaved with the current one")
    a = ap.parse_args()
    res = json.dumps(throughput(a.data, a.n, a.repeats, a.against), indent=1)
    print(res)
    if a.out != "-": Path(a.out).write_text(res + "\n", encoding="utf-8")
