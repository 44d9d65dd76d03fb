"""The nano world comparison (issue 10): every method at equal budget over several seeds, evaluated before and after on
held-out problems (new numbers; templates never trained on), with curves over training steps; the harder 3-4 step
setting; the heuristic GSRM's agreement with the generator; wall times.

Prints one JSON object and writes benchmarks/results/nano_experiment.json, nano_experiment.png and nano_hard.png.
    python benchmarks/nano_experiment.py [--seeds 0,1,2] [--workers 2] [--skip-hard] [--rebuild-student]
Run it on an otherwise idle machine: the wall times are part of what it reports.
"""
import argparse, json, os, platform, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def brief(summary, eval_set):
    "method -> {metric: [mean, std]} for the headline metrics of one evaluation set."
    out = {}
    for m, s in summary.items():
        ev = s["eval"].get(eval_set, {})
        out[m] = {k: [round(ev[k]["mean"], 3), round(ev[k]["std"], 3)] for k in ("accuracy", "adoption", "other", "neither", "structure", "length")
                  if k in ev and ev[k]["mean"] is not None}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--output", default=None, help="run directory (default: a temporary directory)")
    ap.add_argument("--skip-hard", action="store_true")
    ap.add_argument("--rebuild-student", action="store_true", help="time a fresh warm start in a temporary cache")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    out = Path(a.output or tempfile.mkdtemp(prefix="nano-bench-"))
    if a.rebuild_student: os.environ["RLKD_NB_CACHE"] = str(out / "cache")
    from rlkd_nb import nano as N
    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_at_start": os.getloadavg()[0]},
              "seeds": seeds, "workers": a.workers}

    t = time.time(); N.build_student(); report["student_build_s"] = round(time.time() - t, 1)
    report["student_cached"] = not a.rebuild_student
    t = time.time(); report["gsrm_agreement"] = N.gsrm_agreement(500); report["gsrm_agreement"]["seconds"] = round(time.time() - t, 1)
    report["plan_separation"] = N.plan_separation(200)

    res = N.nano_experiment(N.METHODS, seeds, "plan", out, workers=a.workers, progress=False)
    S = res["summary"]
    rl = S.get("rlkd", {})
    base_adopt = (S["base"]["eval"].get("train-templates", {}).get("adoption") or {}).get("mean")
    report["plan"] = {"wall_s": res["wall_s"], "errors": {m: s["errors"] for m, s in S.items() if s["errors"]},
                      "train-templates": brief(S, "train-templates"), "held-out-templates": brief(S, "held-out-templates"),
                      "train_s": {m: s["train_s"] for m, s in S.items()},
                      "hacking": {m: s["hacking"] for m, s in S.items() if s["hacking"]},
                      "reading": N.nano_reading(res), "reading_held_out": N.nano_reading(res, "held-out-templates")}
    if rl.get("curves"):
        steps, adopt = rl["curves"]["step"], [x["mean"] for x in rl["curves"]["adoption"]]
        rise = next((s for s, x in zip(steps, adopt) if base_adopt is not None and x is not None and x > base_adopt + 0.1), None)
        report["plan"]["rlkd_visible_rise"] = {"step": rise, "of_steps": steps[-1] if steps else None,
                                               "rule": "first step whose mean training-batch adoption exceeds the untrained student's by 0.1"}
    fig = N.plot_nano(res)
    RESULTS.mkdir(exist_ok=True)
    fig.savefig(RESULTS / "nano_experiment.png", dpi=110)

    if not a.skip_hard:
        hard = N.nano_experiment(("grpo-outcome", "rlkd"), seeds, "hard", out, workers=a.workers, progress=False)
        H = hard["summary"]
        rise = {}
        for m in ("grpo-outcome", "rlkd"):
            c = H.get(m, {}).get("curves")
            if not c: continue
            acc = [x["mean"] for x in c["accuracy"]]
            a0 = acc[0] if acc else None
            rise[m] = next((s for s, x in zip(c["step"], acc) if a0 is not None and x is not None and x >= a0 + 0.1), None)
        report["hard"] = {"wall_s": hard["wall_s"], "hard": brief(H, "hard"),
                          "zero_spread_mean": {m: (sum(x["mean"] for x in s["curves"]["zero_spread"] if x["mean"] is not None) /
                                                   max(1, sum(x["mean"] is not None for x in s["curves"]["zero_spread"]))) if s.get("curves") else None
                                               for m, s in H.items()},
                          "first_step_accuracy_up_0.1": rise, "errors": {m: s["errors"] for m, s in H.items() if s["errors"]}}
        N.plot_nano(hard, evals=("accuracy", "adoption")).savefig(RESULTS / "nano_hard.png", dpi=110)
    report["total_s"] = round(sum(x for x in (report["student_build_s"], res["wall_s"], report.get("hard", {}).get("wall_s", 0)) if x), 1)
    (RESULTS / "nano_experiment.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    sys.exit(main())
