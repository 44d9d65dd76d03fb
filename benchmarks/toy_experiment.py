"""Toy experiment: SFT vs outcome-only GRPO vs RLKD on the built-in problems, equal budget, several seeds.

Every method starts from the same student (cpu-tiny preset: packaged SmolLM2-135M-Instruct + LoRA r8), trains on
the same built-in data slice per seed for the same number of optimizer steps (SFT: 4 teacher traces per step;
GRPO: 1 prompt x 4 completions per step), and is evaluated on the same held-out built-in problems with the same
sampling seed (greedy + k samples at temperature 0.6, top-p 0.95): accuracy (pass@1), pass@k, format rate and
structure alignment (normalised structure reward against the teacher's structure, default judge).

    python benchmarks/toy_experiment.py [--methods sft,grpo-outcome,rlkd] [--seeds 0,1] [--steps 10]
        [--lr 1e-4] [--n-eval 16] [--k 2] [--max-new-tokens 96] [--output /tmp/rlkd_toy] [--json FILE]

Prints one JSON object (per-run rows, per-method mean/std, settings, wall time). With --json, the same object is
also written (atomically) after every finished run, so a partial experiment still leaves its numbers. Runs already
evaluated in --output are reused, so a killed experiment resumes.
"""
import argparse, contextlib, json, os, sys, time
from pathlib import Path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default="sft,grpo-outcome,rlkd")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--preset", default="cpu-tiny")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--lr", type=float, default=1e-4, help="learning rate of every run (LoRA; the preset's 2e-5 barely moves a few steps)")
    ap.add_argument("--n-eval", type=int, default=16)
    ap.add_argument("--k", type=int, default=2)
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--judge", default=None, help="evaluation structure judge (default: the default judge)")
    ap.add_argument("--threads", default="auto")
    ap.add_argument("--output", default="/tmp/rlkd_toy_experiment")
    ap.add_argument("--json", help="also write the JSON object here after every run")
    a = ap.parse_args(argv)
    from rlkd_nb.core import write_atomic
    from rlkd_nb.experiments import run_experiment, _summary_rows, EVAL_SEED
    t0 = time.time()
    settings = {"methods": a.methods.split(","), "seeds": [int(s) for s in a.seeds.split(",")], "preset": a.preset,
                "steps": a.steps, "learning_rate": a.lr, "n_eval": a.n_eval, "k": a.k, "max_new_tokens": a.max_new_tokens,
                "judge": a.judge or "default", "eval_data": f"load_builtin(n={a.n_eval}, seed={EVAL_SEED})",
                "train_data": "load_builtin(n=n_train of the preset, seed=<seed>)", "cpu_count": os.cpu_count(), "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]}

    def result(rows, done):
        return {"benchmark": "toy_experiment", "complete": done, "settings": settings,
                "summary": _summary_rows(rows), "runs": rows, "wall_s": round(time.time() - t0, 1),
                "load_avg_at_end": [round(x, 2) for x in os.getloadavg()]}

    def save(rows, done=False):
        if a.json: write_atomic(a.json, json.dumps(result(rows, done), indent=1))

    with contextlib.redirect_stdout(sys.stderr):     # trainer logs to stderr: stdout carries only the JSON
        rows = run_experiment(settings["methods"], settings["seeds"], a.preset, a.n_eval, steps=a.steps, k=a.k, learning_rate=a.lr,
                              max_new_tokens=a.max_new_tokens, judge=a.judge, output=a.output, threads=a.threads,
                              callback=save)
    save(rows, True)
    print(json.dumps(result(rows, True), indent=1))


if __name__ == "__main__":
    main()
