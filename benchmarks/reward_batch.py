"""Structure reward of one GRPO-sized batch (8 completions x 8 steps, one teacher) with the default judges; prints one JSON object.

Compares the ways of scoring the same batch, warm (model loaded, a warm-up batch run first, teacher embeddings
cached; student texts are never cached: each timed run uses fresh students and the student embeddings are evicted):
- `batched`: `structure_reward_batch` as shipped (auto = staged for the default judges: 3 calls, each one embedding
  forward pass with texts packed into shared rows);
- `batched_unpacked`: the same with the embedding judge's packing switched off (ordinary padded batches);
- `speculative`: all metas in one call, then the sub-problems/answers of the surviving steps in one call;
- `rounds`: `structure_reward_batch(strategy="rounds")`: step-k metas of all pairs per call;
- `per_pair`: `structure_reward` once per completion;
- `sequential`: the paper's algorithm as written (`structure_reward_sequential`), one judge call per decision.
Forward passes are counted by wrapping the embedding model's `forward`.
Texts are real: teacher steps are `HeuristicGSRM` steps of GSM8K test solutions; student steps are the human
Socratic versions of the same steps (paraphrases) or, with probability 0.15 per step, of another step.

Usage: python benchmarks/reward_batch.py [--runs 5] [--completions 8] [--steps 8]
"""
from __future__ import annotations
import argparse, json, os, random, statistics, sys, time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gsm8k"
sys.path.insert(0, str(Path(__file__).resolve().parent))


def step_pool():
    "Aligned (heuristic step, socratic sub-question, socratic value) triples from GSM8K."
    from rlkd_nb.gsrm import HeuristicGSRM
    from rlkd_nb.data import parse_socratic
    soc = [json.loads(l) for l in open(DATA / "socratic_dev.jsonl")]
    plain = {json.loads(l)["question"]: json.loads(l)["answer"] for l in open(DATA / "test.jsonl")}
    g, pool = HeuristicGSRM(), []
    for row in soc:
        ss = [(s.subproblem, s.answer) for s in parse_socratic(row["answer"])]
        st = g.extract(row["question"], plain[row["question"]])
        if len(ss) == len(st):
            pool += [(h, q, v or h.answer) for h, (q, v) in zip(st.steps, ss)]
    return pool


def make_batch(pool, teacher_idx, n, steps, rng, p_other=0.15):
    from rlkd_nb.core import Step, Structure
    teacher = Structure([pool[i][0] for i in teacher_idx])
    students = []
    lead_m = ["", "Now, ", "OK, ", "Right, ", "Then, ", "So, ", "Good. ", "Next up: "]
    lead_q = ["", "So, ", "Then ", "Now: ", "Next, ", "Also, ", "OK: ", "Question: "]
    for si in range(n):   # every completion words its steps differently (no text shared between completions)
        rows = []
        for k, i in enumerate(teacher_idx):
            j = i if rng.random() > p_other else rng.randrange(len(pool))
            h, q, v = pool[j]
            # the same GSRM writes both sides' metas: keep its style, with the Socratic question as the goal
            meta = h.meta.split(" to find:")[0] + " to find: " + q[0].lower() + q[1:] if " to find:" in h.meta else q
            rows.append(Step(lead_m[si % 8] + meta, lead_q[(si + k) % 8] + q, v))
        students.append(Structure(rows))
    return teacher, students


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--completions", type=int, default=8)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--ways", default="batched,batched_unpacked,speculative,rounds,per_pair,sequential",
                    help="comma-separated ways to time (sequential is needed for identical_totals_all_ways)")
    a = ap.parse_args(argv)
    import torch
    from rlkd_nb.judges import default_judge
    from rlkd_nb.reward import structure_reward, structure_reward_batch, structure_reward_sequential
    sequential = lambda T, s, judge: structure_reward_sequential(T, s, judge).total
    if a.threads: torch.set_num_threads(a.threads)
    pool = step_pool()
    rng = random.Random(0)
    teacher_idx = list(range(100, 100 + a.steps))
    judge = default_judge()
    emb = judge.routes["meta"]
    emb._ensure()
    calls = {"n": 0}
    fwd = emb.model.forward
    def counted(*args, **kw):
        calls["n"] += 1
        return fwd(*args, **kw)
    emb.model.forward = counted
    teacher, warm = make_batch(pool, teacher_idx, a.completions, a.steps, rng)
    structure_reward_batch([(teacher, s) for s in warm], judge)            # warm-up: loads, caches the teacher
    teacher_texts = {x for s in teacher.steps for x in (s.meta, s.subproblem, s.answer)}

    def evict():
        for t in [t for t in emb.cache if t not in teacher_texts]: del emb.cache[t]

    def unpacked(fn):
        def run(T, S):
            emb.pack = False
            try: return fn(T, S)
            finally: emb.pack = None
        return run

    batched = lambda T, S: [r.total for r in structure_reward_batch([(T, s) for s in S], judge)]
    ways = {
        "batched": batched,
        "batched_unpacked": unpacked(batched),
        "speculative": lambda T, S: [r.total for r in structure_reward_batch([(T, s) for s in S], judge, strategy="speculative")],
        "rounds": lambda T, S: [r.total for r in structure_reward_batch([(T, s) for s in S], judge, strategy="rounds")],
        "per_pair": lambda T, S: [structure_reward(T, s, judge).total for s in S],
        "sequential": lambda T, S: [sequential(T, s, judge) for s in S],
    }
    want = a.ways.split(",")
    unknown = [w for w in want if w not in ways]
    if unknown: ap.error(f"unknown way(s) {unknown}; choose from {list(ways)}")
    ways = {w: fn for w, fn in ways.items() if w in want}
    res = {w: {"seconds": [], "cpu_seconds": [], "forward_passes": [], "model_tokens": [], "judge_batches": [], "judge_decisions": [], "totals": None} for w in ways}
    for run in range(a.runs):
        _, students = make_batch(pool, teacher_idx, a.completions, a.steps, random.Random(1000 + run))
        for w, fn in ways.items():
            evict(); calls["n"] = 0; emb.tokens = 0; judge.reset_counts()
            t0, c0 = time.perf_counter(), time.process_time()
            totals = fn(teacher, students)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            r = res[w]
            r["seconds"].append(round(dt, 4)); r["cpu_seconds"].append(round(dc, 4)); r["judge_decisions"].append(judge.n_decisions); r["forward_passes"].append(calls["n"]); r["model_tokens"].append(emb.tokens); r["judge_batches"].append(judge.n_batches)
            if run == 0: r["totals"] = totals
    for w, r in res.items():
        r["median_seconds"] = statistics.median(r["seconds"])
        r["median_cpu_seconds"] = statistics.median(r["cpu_seconds"])
        r["max_forward_passes"] = max(r["forward_passes"])
    ref = res["sequential"]["totals"] if "sequential" in res else \
        [sequential(teacher, s, judge) for s in make_batch(pool, teacher_idx, a.completions, a.steps, random.Random(1000))[1]]
    same = all(res[w]["totals"] == ref for w in ways)
    out = {"batch": f"{a.completions} completions x {a.steps} steps, one teacher (cached)",
           "judge": judge.name, "device": "cpu", "torch_threads": torch.get_num_threads(),
           "load_average_1min": round(os.getloadavg()[0], 2), "runs": a.runs,
           "identical_totals_all_ways": same,
           "targets": {"seconds": 0.3, "forward_passes": 3},
           "batched_meets_targets": res["batched"]["median_seconds"] <= 0.3 and res["batched"]["max_forward_passes"] <= 3 if "batched" in res else None,
           "speedup_vs_sequential": round(res["sequential"]["median_seconds"] / res["batched"]["median_seconds"], 1) if {"batched", "sequential"} <= set(res) else None,
           **res}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    sys.exit(main())
