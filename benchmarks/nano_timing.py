"""Wall times of the nano world on this machine (issue 10's time targets), separately from the full comparison:
the student's warm start from scratch, one RLKD run from the cached student (with the step at which its training-batch
adoption first rises 0.1 above the untrained student's), and the default `rlkd demo`. Prints one JSON object and writes
benchmarks/results/nano_timing.json. Run it on an otherwise idle machine: the load average is recorded with each figure.
    python benchmarks/nano_timing.py [--skip-demo]
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def timed(fn):
    l0, t0, c0 = os.getloadavg()[0], time.time(), time.process_time()
    out = fn()
    return out, {"wall_s": round(time.time() - t0, 1), "cpu_s": round(time.process_time() - c0, 1),
                 "load_before": round(l0, 2), "load_after": round(os.getloadavg()[0], 2)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-demo", action="store_true")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nano-timing-"))
    os.environ["RLKD_NB_CACHE"] = str(tmp / "cache")        # a cold cache: the build is timed from scratch
    from rlkd_nb import nano as N
    report = {"cpus": os.cpu_count()}
    student, report["student_build"] = timed(lambda: N.build_student())
    t_start = time.time()
    run, report["rlkd_run"] = timed(lambda: N.nano_run("rlkd", 0, output=tmp / "rlkd", model=str(student), overwrite=True))
    c = N.run_curves(run)
    base = N.evaluate_nano(str(student), N.eval_records("plan", 60)["train-templates"], 4)["adoption"]
    rise = next((s for s, x in zip(c["step"], c["adoption"]) if x is not None and x > base + 0.1), None)
    at = next((json.loads(l)["time"] for l in (run / "metrics.jsonl").read_text().splitlines() if json.loads(l).get("step") == rise), None)
    report["rlkd_run"].update(steps=c["step"][-1] if c["step"] else 0, base_adoption=round(base, 3), rise_step=rise,
                              rise_rule="first step whose training-batch adoption exceeds the untrained student's (60 new problems x 4) by 0.1",
                              seconds_from_start_to_rise=None if at is None else round(at - t_start, 1))
    if not a.skip_demo:
        env = {**os.environ}
        _, report["demo"] = timed(lambda: subprocess.run([str(Path(sys.executable).parent / "rlkd"), "demo", "--output", str(tmp / "demo"), "--quiet"],
                                                          check=True, env=env, capture_output=True))
        report["demo"]["note"] = "rlkd demo with its defaults, the student already cached (built above); cpu_s counts this process only"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "nano_timing.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    sys.exit(main())
