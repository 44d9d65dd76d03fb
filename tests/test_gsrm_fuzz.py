"""The heuristic GSRM on adversarial input: time linear in the input (CPU time per KB, and growth with size), bounded fields.

The generators live in benchmarks/gsrm_fuzz.py, which reports the worst time per KB over 10,000 cases; here a few
thousand cases run in a few seconds. CPU time (`time.process_time`) is used, so a busy machine does not fail the test;
the bounds are ~25x above the measured worst case, far below what a quadratic path costs (the old calculation regex
took 28 s per KB on a 2 KB run of '1,')."""
import importlib.util, os, random, time
from pathlib import Path
import pytest
from rlkd_nb.gsrm import HeuristicGSRM, MAX_FIELD

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("gsrm_fuzz", ROOT / "benchmarks" / "gsrm_fuzz.py")
fuzz = importlib.util.module_from_spec(spec); spec.loader.exec_module(fuzz)

N_CASES = int(os.environ.get("RLKD_FUZZ_CASES", "2000"))
MS_PER_KB = 50.0     # measured worst: ~2 ms per KB (10,000 cases, benchmarks/results/gsrm_fuzz.json)

def test_generated_cases_stay_linear_and_bounded():
    g, worst = HeuristicGSRM(), (0.0, None)
    for i, (name, text) in enumerate(fuzz.cases(N_CASES, max_kb=32, seed=7)):
        ms = 1000 * fuzz.time_case(g, text) / max(len(text.encode()) / 1024, 1.0)   # time_case also checks the field bounds
        worst = max(worst, (ms, name))
    assert worst[0] < MS_PER_KB, worst

@pytest.mark.parametrize("name", sorted(fuzz.GENERATORS))
def test_time_grows_linearly_with_size(name):
    "Eight times the input costs about eight times the CPU (a quadratic path would cost ~64 times)."
    g, gen = HeuristicGSRM(), fuzz.GENERATORS[name]
    small, large = (min(fuzz.time_case(g, gen(random.Random(3), kb * 1024)) for _ in range(3)) for kb in (16, 128))
    assert large < 24 * max(small, 2e-3), (name, small, large)

@pytest.mark.parametrize("text", [
    "1," * 1000,                                                     # 57 s before (cubic calculation regex)
    "The values are " + ", ".join(map(str, range(3001))) + ".",      # 29 s before
    "[Answer" + " " * 100_000,
    "So the answer is " + "9" * 50_000,
])
def test_issue_cases_are_fast(text):
    t0 = time.process_time()
    HeuristicGSRM().extract("p", text)
    assert time.process_time() - t0 < 1.0

def test_fields_are_bounded_whatever_the_input():
    "A 5 MB trace without spaces used to become a 15 MB output (meta and sub-problem each a full copy)."
    st = HeuristicGSRM().extract("p", "x=1" + "a" * 5_000_000)
    out = st.to_json()
    assert len(out) < 5_000 and all(len(s.meta) <= MAX_FIELD + 1 and len(s.subproblem) <= 221 and len(s.answer) <= 121 for s in st)
    lines = "\n".join(f"Step {i}: {i} + 1 = {i + 1} and then the total is {i + 1}." for i in range(20_000))
    assert len(HeuristicGSRM().extract("p", lines)) <= 20                                  # a trace: at most 20 steps
    assert len(HeuristicGSRM(mode="lines").extract("p", lines)) <= 40                       # line mode: at most 40
