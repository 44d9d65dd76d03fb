"""Adversarial inputs for the heuristic GSRM: CPU time per KB over many generated cases (prints one JSON object).

Generators (seeded): runs of digits and commas ("1,1,1,…", "0, 1, 2, …, n"), long whitespace (spaces, newlines, tabs,
a tag head followed by blanks), huge single tokens (no spaces at all, '=' runs, '\\boxed{' runs), nested brackets,
equations chained without end, and random mixtures of the pieces a trace is made of (cues, '=', 'is', numbers,
paragraph breaks, calculator annotations, '####'). Each case is decomposed as a bare reasoning and inside
`<think>` tags; the figure is process CPU time (not wall clock) divided by max(1, size in KB), and the worst case is
reported with its generator. `--scaling` also times each generator at two sizes eight times apart (linear: ~8x).

Usage: python benchmarks/gsrm_fuzz.py [--n 10000] [--max-kb 64] [--seed 0] [--scaling]"""
from __future__ import annotations
import argparse, json, random, time

PIECES = ["1", "12", "3.5", "1,000", ",", ", ", "=", " = ", " is ", " are ", "=>", "≈", "+", "-", "*", "/", "(", ")", "{", "}", "[", "]",
          "\\boxed{", "\\frac{", "\\(", "\\)", "$", "<<", ">>", "####", "\n", "\n\n", "  ", "\t", "Wait, let me check", "First, ", "So the answer is ",
          "Alternatively, ", "Let me compute ", "I need to find the total", "Okay, so", "**", "- ", "1. ", "the number of plates", " which is ",
          "?", ".", "!", "İ", "ß", "x", "<think>", "</think>", "[Answer", "[Meta-reasoning 1]:", "yes", "no", "a total of ", " has ", " times "]

def _rep(s: str, n: int) -> str: return (s * (n // max(len(s), 1) + 1))[:n]

GENERATORS = {
    "digit_commas": lambda r, n: _rep(r.choice(["1,", "12,", "1, ", "1,2,", "0,0"]), n),
    "counting_list": lambda r, n: ", ".join(str(i) for i in range(n // 4))[:n],
    "sentence_list": lambda r, n: "The values are " + ", ".join(str(i) for i in range(n // 5))[:n] + ".",
    "whitespace": lambda r, n: r.choice(["", "x", "[Answer", "Wait,", "1 ="]) + _rep(r.choice([" ", "\n", "\t", " \n", "\n\n"]), n) + r.choice(["", "x", "=1"]),
    "one_token": lambda r, n: _rep(r.choice(["a", "1", "=", "?", "\\boxed{", "(", "İ", "ab1=", "<<1=2>>", "1/"]), n),
    "nested": lambda r, n: (lambda k: r.choice(["(", "{", "[", "\\frac{", "\\boxed{"]) * k + "1" + r.choice([")", "}", "]"]) * k)(n // 2),
    "equation_chain": lambda r, n: _rep(r.choice(["1 = ", "x = 2 = ", "1 + 1 = 2 = ", "= 3 is 4 "]), n),
    "think_tags": lambda r, n: _rep(r.choice(["<think>", "</think>", "<think>1=2</think>"]), n),
    "mixture": lambda r, n: "".join(r.choice(PIECES) for _ in range(n // 3))[:n],
    "lines": lambda r, n: "\n".join(r.choice(["First, count the pens: 4 * 6 = 24.", "So the answer is 7.", "Then 1,1,1,1 = 2", "Wait, let me check.", "- 1 = 1",
                                              "I could find the cost first.", "#### 5", "a" * 200]) for _ in range(n // 20))[:n],
}

def cases(n: int, max_kb: int = 64, seed: int = 0):
    "`n` (generator name, text) cases, sizes spread log-uniformly from 100 bytes to `max_kb` KB."
    r = random.Random(seed)
    names = sorted(GENERATORS)
    for i in range(n):
        name = names[i % len(names)]
        size = int(100 * (max_kb * 1024 / 100) ** r.random())
        yield name, GENERATORS[name](r, size)

def time_case(gsrm, text: str) -> float:
    "CPU seconds to decompose `text` bare and inside think tags (the fields are bounded: checked here too)."
    t0 = time.process_time()
    for t in (text, "<think>\n" + text + "\n</think>\n\\boxed{1}"):
        st = gsrm.extract("p " + text[:200], t)
        for s in st:
            assert len(s.meta) <= 301 and len(s.subproblem) <= 221 and len(s.answer) <= 121, (len(s.meta), len(s.subproblem), len(s.answer))
        assert len(st) <= 40 and len(st.final_answer) <= 121
    return time.process_time() - t0

def run(n: int = 10_000, max_kb: int = 64, seed: int = 0) -> dict:
    from rlkd_nb.gsrm import HeuristicGSRM
    g = HeuristicGSRM()
    worst, per_gen, total_kb, total_cpu = None, {}, 0.0, 0.0
    for name, text in cases(n, max_kb, seed):
        dt = time_case(g, text)
        kb = len(text.encode("utf-8")) / 1024
        ms_per_kb = 1000 * dt / max(kb, 1.0)
        total_kb += kb; total_cpu += dt
        pg = per_gen.setdefault(name, {"cases": 0, "worst_ms_per_kb": 0.0})
        pg["cases"] += 1; pg["worst_ms_per_kb"] = round(max(pg["worst_ms_per_kb"], ms_per_kb), 3)
        if worst is None or ms_per_kb > worst["ms_per_kb"]:
            worst = {"ms_per_kb": round(ms_per_kb, 3), "generator": name, "kb": round(kb, 1), "cpu_s": round(dt, 4), "head": text[:60]}
    return {"cases": n, "max_kb": max_kb, "seed": seed, "measure": "process CPU time per max(1, KB), bare and in think tags",
            "worst": worst, "mean_ms_per_kb": round(1000 * total_cpu / max(total_kb, 1e-9), 3), "per_generator": per_gen}

def scaling(kb: int = 32, factor: int = 8, seed: int = 1) -> dict:
    "CPU time of each generator at `kb` and `factor * kb` KB (best of 3); a linear path grows about `factor` times."
    from rlkd_nb.gsrm import HeuristicGSRM
    g, out = HeuristicGSRM(), {}
    for name, gen in GENERATORS.items():
        ts = []
        for size in (kb * 1024, factor * kb * 1024):
            text = gen(random.Random(seed), size)
            ts.append(min(time_case(g, text) for _ in range(3)))
        out[name] = {"small_s": round(ts[0], 4), "large_s": round(ts[1], 4), "ratio": round(ts[1] / max(ts[0], 1e-4), 2)}
    return out

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000); ap.add_argument("--max-kb", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0); ap.add_argument("--scaling", action="store_true")
    a = ap.parse_args()
    res = run(a.n, a.max_kb, a.seed)
    if a.scaling: res["scaling"] = scaling()
    print(json.dumps(res, indent=1, ensure_ascii=False))
