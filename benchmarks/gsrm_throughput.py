"""Heuristic GSRM throughput on long R1 traces, one core (dev data; prints one JSON object).

The 37 dev traces are repeated to `--n` traces and extracted in one process (one thread, so one core); reports
traces/second by wall clock and by process CPU time (best of `--repeats` runs). On a shared, loaded machine the
CPU-time figure is the one-core throughput; the wall-clock figure includes time the process waited for a core.
The JSON is also written to benchmarks/results/gsrm_throughput.json (`--out -` to only print it)."""
import argparse, json, os, time
from pathlib import Path
from rlkd_nb.gsrm import HeuristicGSRM

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "gsrm_throughput.json"
DATA = Path(os.environ.get("RLKD_DEV_DATA", ROOT.parent / "shared" / "data")) / "r1_traces" / "dev.jsonl"

def throughput(path=DATA, n=2000, repeats=3) -> dict:
    rows = [json.loads(l) for l in open(path, encoding="utf-8")]
    probs, traces = [r["problem"] for r in rows], [r["trace"] for r in rows]
    k = -(-n // len(rows))
    probs, traces = (probs * k)[:n], (traces * k)[:n]
    g = HeuristicGSRM()
    g.extract_batch(probs[:37], traces[:37])   # warm-up
    best = best_cpu = None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = g.extract_batch(probs, traces)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        best = dt if best is None else min(best, dt)
        best_cpu = dc if best_cpu is None else min(best_cpu, dc)
    chars = sum(map(len, traces))
    return {"traces": n, "wall_seconds": round(best, 4), "traces_per_second": round(n / best, 1),
            "cpu_seconds": round(best_cpu, 4), "traces_per_cpu_second": round(n / best_cpu, 1),
            "chars_per_second": round(chars / best), "mean_chars_per_trace": round(chars / n),
            "steps_total": sum(len(s) for s in out), "threads": 1, "cpu_count": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2)}

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(DATA)); ap.add_argument("--n", type=int, default=2000); ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(OUT), help="where to write the JSON ('-': only print it)")
    a = ap.parse_args()
    res = json.dumps(throughput(a.data, a.n, a.repeats), indent=1)
    print(res)
    if a.out != "-": Path(a.out).write_text(res + "\n", encoding="utf-8")
