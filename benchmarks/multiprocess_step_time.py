"""GRPO step time with 1 and with 2 CPU processes (accelerate launch, gloo) on a preset; prints JSON.

Each process does `per_device_train_batch_size` completions per step, so 2 processes do twice the work per step.
TRL's own `step_time` metric (seconds per optimizer step, generation + rewards + backward) is reported per step; the
first step (warm-up) is left out of the median. Usage:
    python benchmarks/multiprocess_step_time.py [--preset tiny] [--steps 6]
"""
import argparse, json, os, shlex, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(preset: str, steps: int, procs: int, out: Path) -> dict:
    args = ["--preset", preset, "--max-steps", str(steps), "--output", str(out), "--set", "save_steps=1000"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(ROOT)}
    if procs == 1: cmd = [sys.executable, "-m", "rlkd_nb.cli", "train", *args]
    else:
        printed = subprocess.run([sys.executable, "-m", "rlkd_nb.cli", "train", *args, "--launch", "--num-processes", str(procs)],
                                 capture_output=True, text=True, env=env, check=True).stdout
        cmd = shlex.split(printed)
    t0, c0 = time.time(), os.times()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    t1, c1 = time.time(), os.times()
    if r.returncode: raise SystemExit(r.stderr[-3000:])
    rows = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines() if '"step_time"' in l]
    times = [r["step_time"] for r in rows]
    return {"processes": procs, "completions_per_step": procs * 4, "step_time_s": [round(t, 3) for t in times],
            "median_step_time_s": round(statistics.median(times[1:] or times), 3),
            "wall_s": round(t1 - t0, 1), "children_cpu_s": round((c1.children_user + c1.children_system) - (c0.children_user + c0.children_system), 1),
            "load_avg_before": os.getloadavg()[0]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--steps", type=int, default=6)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        res = [run(a.preset, a.steps, n, Path(d) / f"p{n}") for n in (1, 2)]
    print(json.dumps({"preset": a.preset, "steps": a.steps, "cpu_count": os.cpu_count(), "runs": res}, indent=1))


if __name__ == "__main__":
    main()
