"""Time per KB of every text path on the reward side, on adversarial inputs; prints one JSON object.

Every function here reads text a training run feeds it (GSRM output, completions, gold answers, data files), so
each must run in time linear in its input. The generators aim at what makes regular expressions and hand-written
scanners super-linear: runs of digits and commas, tag heads followed by long whitespace, huge single tokens,
nested brackets and braces, repeated openers with no closer, and realistic GSRM text with damage.

Time is process CPU time (`time.process_time`, GC off while measuring), so other processes on the machine do not
count; time per KB is `cpu_seconds / max(size_kb, 1)` (inputs under 1 KB are charged as 1 KB, which keeps fixed
per-call costs from looking like super-linear ones). `tests/test_text_fuzz.py` runs the same generators with a
bound; this script reports the worst case per function.

    python benchmarks/text_paths.py --cases 10000 [--max-kb 64] [--group parser|answers|all] [--seed 0]
"""
from __future__ import annotations
import argparse, gc, json, math, random, sys, time
from pathlib import Path


def _canonical(rng: random.Random) -> str:
    "Realistic GSRM text: canonical tags, sometimes legacy aliases and a final line."
    n = rng.randint(1, 8)
    tags = rng.choice([("Meta-reasoning", "Sub-problem", "Answer"), ("Meat-reasoning", "Query", "Answer"), ("sub-think", "Query", "answer")])
    lines = []
    for k in range(1, n + 1):
        lines += [f"[{tags[0]} {k}]: work out part {k} of the eggs problem.", f"[{tags[1]} {k}]: How many eggs in part {k}?",
                  f"[{tags[2]} {k}]: {rng.randint(0, 10**rng.randint(1, 6)):,}"]
    if rng.random() < 0.7: lines.append(f"So the final answer is: \\boxed{{{rng.randint(0, 999)}}}")
    return "\n".join(lines)


def _fill(unit: str, size: int) -> str:
    return unit * max(1, size // max(1, len(unit)))


WS = [" ", "\t", "\n", "  \n", "\u00a0", "\r\n"]

def adversarial(rng: random.Random, size: int) -> tuple[str, str]:
    "One adversarial input of about `size` characters: `(kind, text)`."
    kind = rng.choice(["digits_commas", "tag_ws", "huge_token", "nested", "openers", "gsrm_damaged", "mixed"])
    w = rng.choice(WS)
    if kind == "digits_commas":
        t = rng.choice([_fill("1,", size), _fill("1,000,", size), _fill("12 and 3 and ", size), ", ".join(map(str, range(size // 4))),
                        "".join(rng.choice("0123456789,.") for _ in range(size)), _fill("1,2", size) + "x", "#### " + _fill("1, ", size)])
    elif kind == "tag_ws":
        head = rng.choice(["[Answer", "[Meta-reasoning", "[ sub", "[Sub-problem 1", "[Answer 1]", "[Query", "So the final answer is",
                           "final answer is", "\n the final", "####", "\\boxed", "\\text", "<answer>", "Step", "1."])
        t = head + _fill(w, size) + rng.choice(["", "x", "1]", ":", "}", "and 3"])
    elif kind == "huge_token":
        tok = _fill(rng.choice(["x", "9", "ab", "é", "😀", "\\", "$"]), size)
        t = rng.choice([tok, "[Answer 1]: " + tok, "\\boxed{" + tok + "}", "#### " + tok, "<answer>\n" + tok + "\n</answer>",
                        "[Meta-reasoning 1]: " + tok + "\n[Sub-problem 1]: q\n[Answer 1]: 1\nSo the final answer is: " + tok])
    elif kind == "nested":
        k = max(1, size // 2)
        t = rng.choice(["[" * k + "]" * k, "{" * k + "}" * k, "[" * size, "{" * size, "(" * k + ")" * k,
                        _fill("\\boxed{", size // 2) + "}" * (size // 14), _fill("[[Answer 1]]", size), _fill("\\text{", size)])
    elif kind == "openers":
        t = rng.choice([_fill("<answer>", size), _fill("</answer>", size), "<think>\n" + _fill("\n</think>\n<answer>\n", size),
                        _fill("\\boxed{1}", size), _fill("\\boxed{1} and ", size), _fill("<<", size), _fill("####", size),
                        _fill("final answer is ", size), _fill("[Answer 1]: ", size), _fill("**", size), _fill("\\{", size)])
    elif kind == "gsrm_damaged":
        t = ""
        while len(t) < size: t += _canonical(rng) + rng.choice(WS)
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(len(t) + 1)
            t = t[:i] + rng.choice(["[", "]", "[Answer", _fill(w, rng.randint(1, size)), "\\boxed{", "1,", "\n", "####"]) + t[i:]
        t = t[: size * 2]
    else:
        t = ""
        while len(t) < size: t += adversarial(rng, max(16, size // 4))[1]
    return kind, t


def functions(group: str = "all") -> dict:
    "name -> function of one text, for the text paths in `group` (parser, answers, judges, data or all)."
    from rlkd_nb import core, data, judges, reward
    parser = {"core.parse_gsrm": core.parse_gsrm, "core.as_structure": _safe(core.as_structure)}
    answers = {"core.last_boxed": core.last_boxed, "core.last_number": core.last_number,
               "reward.final_answer_text": reward.final_answer_text, "reward.gold_answer_text": reward.gold_answer_text,
               "reward.answer_matches": lambda t: reward.answer_matches("3", reward.final_answer_text(t) or t),
               "reward.accuracy_reward": lambda t: reward.accuracy_reward([t], answer=["3"]),
               "reward.format_reward": lambda t: reward.format_reward([t], think_in_prompt=True),
               "reward.tag_count_reward": lambda t: reward.tag_count_reward([t]), "reward.step_count_reward": lambda t: reward.step_count_reward([t])}
    judge = {"judges.normalize_text": judges.normalize_text, "judges.token_f1": lambda t: judges.token_f1(t, t[: len(t) // 2]),
             "judges.answers_equal": lambda t: judges.answers_equal(t, t[::-1])}
    dat = {"data.gsm8k_gold": data.gsm8k_gold, "data.parse_socratic": data.parse_socratic, "data.socratic_answer": data.socratic_answer,
           "data.think_text": data.think_text}
    groups = {"parser": parser, "answers": answers, "judges": judge, "data": dat}
    return {k: v for g, fs in groups.items() if group in (g, "all") for k, v in fs.items()}


def _safe(f):
    "`f` where a one-line SchemaError is an allowed outcome (as_structure refuses JSON nested too deeply)."
    from rlkd_nb.core import SchemaError
    def g(t):
        try: return f(t)
        except SchemaError: return None
    return g


def cpu_per_kb(f, text: str) -> float:
    "Process CPU milliseconds per KB of one call (GC off while measuring; under 1 KB counts as 1 KB)."
    enabled = gc.isenabled(); gc.disable()
    try:
        t0 = time.process_time(); f(text); dt = time.process_time() - t0
    finally:
        if enabled: gc.enable()
    return 1000 * dt / max(len(text.encode("utf-8", "surrogatepass")) / 1024, 1.0)


def warm_up(fs: dict):
    "First calls import math-verify and compile patterns: not part of any input's cost."
    for f in fs.values():
        for t in ("\\boxed{1/2} and \\boxed{3}", "[Answer 1]: 3\nSo the final answer is: 3", "#### 3", "x"): f(t)


def run(cases: int = 10_000, max_kb: float = 64, group: str = "all", seed: int = 0, min_bytes: int = 64) -> dict:
    fs = functions(group)
    warm_up(fs)
    rng = random.Random(seed)
    worst = {k: (0.0, None, 0) for k in fs}
    total_kb, t0 = 0.0, time.process_time()
    for _ in range(cases):
        size = int(math.exp(rng.uniform(math.log(min_bytes), math.log(max_kb * 1024))))
        kind, text = adversarial(rng, size)
        total_kb += len(text) / 1024
        for name, f in fs.items():
            v = cpu_per_kb(f, text)
            if v > worst[name][0]: worst[name] = (v, kind, len(text))
    return {"cases": cases, "seed": seed, "max_kb": max_kb, "input_mb": round(total_kb / 1024, 1),
            "cpu_s": round(time.process_time() - t0, 1), "clock": "time.process_time, GC off per call",
            "worst_ms_per_kb": {k: {"ms_per_kb": round(v, 4), "kind": kind, "chars": n} for k, (v, kind, n) in worst.items()}}


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--max-kb", type=float, default=64)
    ap.add_argument("--group", default="all", choices=["all", "parser", "answers", "judges", "data"])
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    print(json.dumps(run(a.cases, a.max_kb, a.group, a.seed), indent=1))
