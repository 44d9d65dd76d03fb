"""What a shorter warm start costs the nano student (issue 10's build-time target: <= 2 minutes on 2 cores).

Builds the student from scratch with the shipped recipe (600 SFT steps of 16 traces) and with two cheaper ones that fit
about 2 minutes on this machine (320 steps of 16; 600 steps of 8), then evaluates each untrained student the way the
nano comparison evaluates 'base': 60 new problems on the training templates and 30 on held-out templates, 4 samples
each, seed 0. Prints one JSON object and writes benchmarks/results/nano_warmstart.json. Wall times depend on the
load (recorded with each build); the idle figure for the shipped recipe is in nano_timing.json.
    python benchmarks/nano_warmstart.py [--variants 600x16,320x16,600x8]
"""
import argparse, json, os, tempfile, time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default="600x16,320x16,600x8", help="comma-separated STEPSxBATCH warm starts")
    ap.add_argument("--out", default=str(RESULTS / "nano_warmstart.json"), help="where to write the JSON ('-': only print it)")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nano-warmstart-"))
    os.environ["RLKD_NB_CACHE"] = str(tmp / "cache")
    from rlkd_nb import nano as N
    shipped = N.warmstart_config
    report = {"cpus": os.cpu_count(), "shipped": f"{N.WARM_STEPS}x{shipped('i', 'o').per_device_train_batch_size}", "variants": []}
    for v in a.variants.split(","):
        steps, batch = map(int, v.split("x"))
        N.warmstart_config = lambda *args, _b=batch, **kw: shipped(*args, **kw).replace(per_device_train_batch_size=_b)
        l0, t0, c0 = os.getloadavg()[0], time.time(), time.process_time()
        d = N.build_student(0, steps=steps, dest=tmp / v)
        row = {"variant": v, "steps": steps, "batch": batch, "traces_seen": steps * batch,
               "build_wall_s": round(time.time() - t0, 1), "build_cpu_s": round(time.process_time() - c0, 1),
               "load_before": round(l0, 2), "load_after": round(os.getloadavg()[0], 2)}
        N.warmstart_config = shipped
        for name, recs in N.eval_records("plan", 60).items():
            m = N.evaluate_nano(str(d), recs, 4, seed=0, max_new_tokens=96)
            row[name] = {k: round(m[k], 3) for k in ("accuracy", "adoption", "other", "neither", "format_rate")}
        report["variants"].append(row)
        print(json.dumps(row), flush=True)
    text = json.dumps(report, indent=1)
    print(text)
    if a.out != "-": Path(a.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
