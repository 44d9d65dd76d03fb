"""Every text path on the reward side runs in time linear in its input: a bound on CPU time per KB, on adversarial inputs.

The generators (benchmarks/text_paths.py) aim at what makes text processing super-linear: runs of digits and
commas, tag heads followed by long whitespace, huge single tokens, nested brackets, openers with no closer. Time is
process CPU time with GC off, so other processes on the machine do not count, and the bound is generous (about 50x
what the functions need here): a quadratic path on a 32 KB input costs seconds per KB and fails it; noise does not.
`python benchmarks/text_paths.py --cases 10000` reports the worst case per function (the issue note quotes it).
"""
import importlib.util, os, random
from pathlib import Path
import pytest

_spec = importlib.util.spec_from_file_location("text_paths", Path(__file__).resolve().parent.parent / "benchmarks" / "text_paths.py")
tp = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(tp)

MS_PER_KB = 10.0          # linear paths need 0.05-0.6 ms/KB here
MATH_ALLOWANCE_MS = 3000  # answers_equal & co. may also spend a bounded time in math-verify (inputs <= MAX_MATH_CHARS)
MATH = {"reward.answer_matches", "reward.accuracy_reward", "judges.answers_equal"}
N_CASES = int(os.environ.get("RLKD_TEXT_FUZZ_CASES", 800))

# inputs that make a naive scan super-linear (the earlier code took seconds to minutes on most of them): one per path
KNOWN = {"core.parse_gsrm": "[Answer" + " " * 32_000,
         "core.as_structure": "[" * 32_000,
         "core.last_boxed": "\\boxed{" * 4_000,
         "reward.final_answer_text": "final answer is" + "\n" * 32_000,
         "reward.gold_answer_text": "<answer>" * 4_000,
         "reward.format_reward": "<think>\n" + "\n</think>\n<answer>\n" * 2_000,
         "reward.step_count_reward": "\n" * 32_000,
         "reward.answer_matches": " " * 32_000 + "and",
         "data.gsm8k_gold": "#### " + " " * 16_000 + "x" + " " * 16_000 + "y"}


def _within(name, text, f) -> tuple[bool, float]:
    "Whether one call keeps to the bound (measured twice when the first is over it, to rule out a one-off stall)."
    kb = max(len(text.encode("utf-8", "surrogatepass")) / 1024, 1.0)
    limit = MS_PER_KB + (MATH_ALLOWANCE_MS / kb if name in MATH else 0.0)
    v = tp.cpu_per_kb(f, text)
    if v > limit: v = min(v, tp.cpu_per_kb(f, text))
    return v <= limit, v


@pytest.fixture(scope="module")
def fs():
    f = tp.functions("all")
    tp.warm_up(f)
    return f


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_super_linear_inputs_are_linear_now(fs, name):
    ok, v = _within(name, KNOWN[name], fs[name])
    assert ok, f"{name}: {v:.1f} ms/KB on a {len(KNOWN[name]) // 1024} KB input"


def test_adversarial_inputs_cost_a_bounded_time_per_kb(fs):
    rng = random.Random(2026)
    worst = {}
    for case in range(N_CASES):
        size = int(2 ** rng.uniform(6, 14))                      # 64 B .. 16 KB
        kind, text = tp.adversarial(rng, size)
        for name, f in fs.items():
            ok, v = _within(name, text, f)
            assert ok, f"case {case} ({kind}, {len(text)} chars): {name} took {v:.1f} ms/KB; input starts {text[:80]!r}"
            worst[name] = max(worst.get(name, 0.0), v)
    assert set(worst) == set(fs)
    print({k: round(v, 3) for k, v in sorted(worst.items())})
