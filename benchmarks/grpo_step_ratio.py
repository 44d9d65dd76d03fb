"""GRPO step time with the RLKD reward set vs outcome-only rewards: same student, data, seed and settings.

Default: the cpu-tiny preset (packaged SmolLM2-135M-Instruct + LoRA, 4 generations x 64 tokens), one warm-up
step and 3 timed steps per method, in one process. Prints one JSON object; `ok` is ratio <= 1.25.

    python benchmarks/grpo_step_ratio.py [--preset cpu-tiny] [--steps 3] [--warmup 1] [--threads 1] [--judge NAME]

Step times include generation, so they vary with machine load; the reward time (measured around each reward
function) is the part RLKD adds, and is reported separately.
"""
import argparse, json, statistics, sys, tempfile, time
from pathlib import Path


def timed_rewards(funcs, sink):
    "Wrap reward functions so that the seconds spent in them accumulate in sink['reward_s']."
    out = []
    for f in funcs:
        def g(*a, _f=f, **kw):
            t = time.perf_counter()
            try: return _f(*a, **kw)
            finally: sink["reward_s"] += time.perf_counter() - t
        g.__name__ = getattr(f, "__name__", type(f).__name__)
        out.append(g)
    return out


def run(method, cfg, steps, warmup):
    from transformers import TrainerCallback
    from trl import GRPOTrainer
    from rlkd_nb import train
    cfg = cfg.replace(method=method, max_steps=warmup + steps, save_steps=10_000, log_completions=False)
    model, tok, peft = train._load_student(cfg)
    funcs, weights = train.reward_set(cfg)
    sink = {"reward_s": 0.0}
    times, rewards = [], []

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            self.t, self.r = time.perf_counter(), sink["reward_s"]
        def on_step_end(self, args, state, control, **kw):
            times.append(time.perf_counter() - self.t); rewards.append(sink["reward_s"] - self.r)

    tr = GRPOTrainer(model=model, reward_funcs=timed_rewards(funcs, sink), args=train.grpo_args(cfg, weights),
                     train_dataset=train.build_dataset(cfg, tokenizer=tok), processing_class=tok,
                     peft_config=peft, callbacks=[Clock()])
    import contextlib
    with contextlib.redirect_stdout(sys.stderr): tr.train()      # stdout carries only the JSON result
    t, r = times[warmup:], rewards[warmup:]
    return {"step_s": [round(x, 3) for x in t], "median_step_s": round(statistics.median(t), 3),
            "median_reward_s": round(statistics.median(r), 4)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="cpu-tiny")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (0 = torch default); 1 is robust on a shared machine")
    ap.add_argument("--judge", default=None, help="structure-reward judge (default: the preset's / default composite)")
    a = ap.parse_args()
    import os, torch
    from rlkd_nb import train
    from rlkd_nb.train import TrainConfig
    with tempfile.TemporaryDirectory() as d:
        cfg = TrainConfig.load(a.preset, output_dir=d, judge=a.judge, num_threads=a.threads or None)
        t0 = time.time()
        outcome = run("grpo-outcome", cfg, a.steps, a.warmup)
        rlkd = run("rlkd", cfg, a.steps, a.warmup)
    ratio = rlkd["median_step_s"] / outcome["median_step_s"]
    load = os.getloadavg()[0]
    print(json.dumps({"benchmark": "grpo_step_ratio", "preset": a.preset, "model": cfg.model,
                      "num_generations": cfg.num_generations, "max_completion_length": cfg.max_completion_length,
                      "judge": cfg.judge or "default", "steps": a.steps, "warmup": a.warmup,
                      "device": train.device_summary(), "threads": torch.get_num_threads(), "loadavg_1m": round(load, 2),
                      "outcome": outcome, "rlkd": rlkd, "ratio": round(ratio, 3),
                      "reward_overhead_s": round(rlkd["median_reward_s"] - outcome["median_reward_s"], 4),
                      "ok": ratio <= 1.25, "wall_s": round(time.time() - t0, 1)}))


if __name__ == "__main__":
    main()
