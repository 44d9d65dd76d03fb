"""The GSRM interface and the heuristic extractor: GSM8K agreement, R1-trace quality, spans, plug-in interface."""
import importlib.util, json, re, time
from pathlib import Path
import pytest
from rlkd_nb.core import Step, Structure
from rlkd_nb.data import load_builtin
from rlkd_nb import gsrm as G
from rlkd_nb.core import last_number
from rlkd_nb.gsrm import GSRM, HeuristicGSRM, extract, get_gsrm, reasoning_of, register_gsrm, final_result

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
needs_gsm = pytest.mark.skipif(not (DATA / "gsm8k" / "socratic_dev.jsonl").exists(), reason="dev data not present")
needs_r1 = pytest.mark.skipif(not (DATA / "r1_traces" / "dev.jsonl").exists(), reason="dev data not present")

def _bench(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod

JANET = ("Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n"
         "She makes 9 * 2 = $<<9*2=18>>18 every day at the farmer’s market.\n#### 18")

# --- GSM8K-style solutions --------------------------------------------------------------------------

def test_gsm8k_one_step_per_line_with_questions():
    st = extract("Janet's ducks lay 16 eggs per day...", JANET)
    assert len(st) == 2 and st.final_answer == "18"
    assert st[0].subproblem == "How many duck eggs does Janet sell a day?"
    assert st[0].answer == "9 duck eggs" and st[1].answer == "$18"
    assert st[1].subproblem.startswith("How much does she make") and st[1].subproblem.endswith("?")
    assert "16, 3 and 4" in st[0].meta and "9" not in st[0].meta.split("find")[1]   # meta names the inputs, not the result
    for s in st:
        assert JANET[s.span[0]:s.span[1]] in JANET.splitlines()

@pytest.mark.parametrize("line,q", [
    ("So the total amount of fabric is 2+1=<<2+1=3>>3 bolts of fabric", "What is the total amount of fabric?"),
    ("The cost of the house and repairs came out to 80,000+50,000=$<<80000+50000=130000>>130,000", "What was the cost of the house and repairs?"),
    ("First find the total number of trips Janet takes during the week: 2 trips/day * 5 days/week = <<2*5=10>>10 trips/week",
     "What is the total number of trips Janet takes during the week?"),
    ("Miguel uses 2 x 30 = <<2*30=60>>60 sheets of paper every week.", "How many sheets of paper does Miguel use every week?"),
])
def test_gsm8k_question_forms(line, q):
    st = extract("p", line + "\n#### 1")
    assert st[0].subproblem == q

def test_gsm8k_subproblem_keeps_content_words():
    st = extract("p", "He increased the value of the house by 80,000*1.5=<<80000*1.5=120000>>120,000\n#### 120000")
    words = set(re.findall(r"[a-z]+", st[0].subproblem.lower()))
    assert {"increased", "value", "house"} <= words and st[0].subproblem.endswith("?")
    assert last_number(st[0].answer) == "120000"

@needs_gsm
def test_gsm8k_agreement_with_socratic():
    r = _bench("gsrm_gsm8k_agreement").agreement(DATA / "gsm8k")
    print(json.dumps(r))
    assert r["problems"] == 660 and r["unmatched_questions"] == 0
    assert r["step_count_equal"] >= 0.90
    assert r["answer_last_number_equal"] >= 0.90

# --- long R1-style traces ---------------------------------------------------------------------------

@needs_r1
def test_r1_trace_quality():
    r = _bench("gsrm_r1_quality").quality(DATA / "r1_traces" / "dev.jsonl")
    print(json.dumps(r))
    assert r["traces"] == 37
    assert r["traces_with_at_least_3_steps"] == 37
    assert r["traces_with_all_fields_nonempty"] == 37
    assert r["correct_last_answer_equals_gold"] >= 0.80
    assert 5 <= r["steps"]["median"] <= 30 and r["steps"]["max"] <= 30

@needs_r1
def test_r1_spans_cover_trace_in_order_and_subproblems_are_questions():
    rows = [json.loads(l) for l in open(DATA / "r1_traces" / "dev.jsonl")]
    for row in rows:
        t = row["trace"]
        st = extract(row["problem"], t)
        spans = [s.span for s in st]
        assert spans[0][0] == 0 and spans[-1][1] == len(t.rstrip())
        for (a, b), (c, d) in zip(spans, spans[1:]):
            assert a < b <= c < d and not t[b:c].strip()          # contiguous steps, only whitespace between
        for s in st:
            assert s.subproblem.endswith("?"), s.subproblem
            assert len(s.meta) <= 301 and len(s.answer) <= 121 + 30
        if len(t) > 5000: assert len(st) >= 5                      # long traces are not one blob

@needs_r1
def test_r1_with_think_tags_spans_point_into_source():
    row = json.loads(open(DATA / "r1_traces" / "dev.jsonl").readline())
    completion = "<think>\n" + row["trace"] + "\n</think>\n" + row["final"]
    st = extract(row["problem"], completion)
    plain = extract(row["problem"], row["trace"])
    assert [s.subproblem for s in st] == [s.subproblem for s in plain]
    s0 = st[0]
    assert completion[s0.span[0]:s0.span[1]] == row["trace"][plain[0].span[0]:plain[0].span[1]]
    assert st.final_answer == plain.final_answer == "6.17"

def test_builtin_traces_extract_to_gold():
    for rec in load_builtin(60, seed=2):
        st = extract(rec["problem"], rec["teacher_trace"])
        assert st.final_answer == rec["answer"]
        assert len(st) >= 3 and all(s.meta and s.subproblem.endswith("?") and s.answer for s in st)

def test_builtin_extracted_subproblems_overlap_true_ones():
    "The heuristic recovers the generator's sub-problems as the questions it writes into the trace."
    hits = total = 0
    for rec in load_builtin(40, seed=5):
        true = [s.subproblem.lower() for s in Structure.from_dict(rec["teacher_structure"])]
        got = " ".join(s.subproblem.lower() for s in extract(rec["problem"], rec["teacher_trace"]))
        for q in true:
            total += 1; hits += q.rstrip("?") in got
    assert hits / total >= 0.5, (hits, total)

def test_final_result_forms():
    assert final_result("blah\n**Final Answer**\n\\boxed{\\dfrac{1}{2}}") == "\\dfrac{1}{2}"
    assert final_result("So, I think my calculations are correct. Therefore, the answer is 19 bits.") == "19"
    assert final_result("x " * 10 + "the answer is $42$.") == "42"
    assert final_result("no final answer here") is None

def test_short_and_odd_inputs_never_crash():
    for txt in ["", "   ", "4", "?", "=", "\\boxed{", "\\boxed{}}", "Wait.\n\nWait.\n\nWait.", "a" * 5000, "\n\n" * 50,
                "<think></think>", "</think>", "Let me check.\n\n\\[ x = \\]\n\n= = =", "ı" * 10 + "İ" * 10 + "\n\nOkay, İ need to find X."]:
        st = extract("p", txt)
        assert isinstance(st, Structure)
        Structure.from_dict(st.to_dict())

def test_unicode_lowering_keeps_indices():
    t = "İstanbul has 3 cats.\n\nFirst, I need to find the total number of cats.\n\nSo the total is 3 + 4 = 7.\n\nWait, let me check: 3 + 4 = 7. The answer is 7."
    st = extract("p", t)
    assert st.final_answer == "7"
    assert any("total number of cats" in s.subproblem for s in st)

# --- the interface ----------------------------------------------------------------------------------

def test_reasoning_of():
    assert reasoning_of("<think>\nplan\n</think>\n<answer>x</answer>") == "plan"
    assert reasoning_of("all of it") == "all of it"
    assert reasoning_of(None) == ""

def test_get_gsrm_and_registry():
    g = get_gsrm()
    assert isinstance(g, HeuristicGSRM) and g.name == "heuristic"
    assert get_gsrm(g) is g
    with pytest.raises(ValueError, match="unknown GSRM 'nope'"):
        get_gsrm("nope")
    with pytest.raises(ValueError, match="mode must be"):
        HeuristicGSRM(mode="x")

def test_llm_backend_is_lazy():
    import subprocess, sys
    code = ("import sys, rlkd_nb.gsrm as g; print('rlkd_nb.llm_gsrm' in sys.modules, 'torch' in sys.modules, 'transformers' in sys.modules)\n"
            "try: g.get_gsrm('llm')\nexcept ValueError as e: print(e)\n"
            "import rlkd_nb.llm_gsrm; print(type(g.get_gsrm('llm', generate_fn=lambda c: [], cache=False)).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0].split() == ["False", "False", "False"]      # importing gsrm pulls in neither the LLM GSRM nor torch
    assert "import rlkd_nb.llm_gsrm" in out[1]                 # the "llm" name says which module registers it
    assert out[2] == "LLMGSRM"

class Upper(GSRM):
    "A toy extractor: proves another GSRM plugs into extract(), get_gsrm() and extract_batch unchanged."
    name = "upper"
    def __init__(self, tag="X"): self.tag = tag
    def extract(self, problem, reasoning):
        return Structure([Step(self.tag, problem.upper() + "?", reasoning.upper())])

def test_plugin_gsrm_interface():
    register_gsrm("upper", Upper)
    g = get_gsrm("upper", tag="T")
    assert extract("ab", "cd", gsrm=g)[0].to_dict() == {"meta": "T", "subproblem": "AB?", "answer": "CD"}
    assert extract("ab", "cd", gsrm="upper")[0].answer == "CD"
    out = g.extract_batch(["a", "b"], ["c", "d"])
    assert [s[0].answer for s in out] == ["C", "D"]
    with pytest.raises(ValueError, match="2 problems but 1 reasonings"):
        g.extract_batch(["a", "b"], ["c"])
    with pytest.raises(NotImplementedError):
        GSRM().extract("a", "b")

def test_batch_equals_single():
    recs = load_builtin(10)
    g = HeuristicGSRM()
    assert g.extract_batch([r["problem"] for r in recs], [r["teacher_trace"] for r in recs]) == [g.extract(r["problem"], r["teacher_trace"]) for r in recs]

def test_modes_can_be_forced():
    t = "Okay, so 2+2.\n\nFirst, 2+2=4.\n\nSo the answer is 4."
    s = HeuristicGSRM(mode="gsm8k").extract("p", t)
    assert len(s) == 2 and s.final_answer == "4"     # one step per non-empty line; the closing answer line is the final
    assert HeuristicGSRM(mode="trace").extract("p", JANET).final_answer  # still returns something sensible

@needs_r1
def test_throughput_smoke():
    "A loose CPU-time floor (the real figure is benchmarks/gsrm_throughput.py); guards against accidental quadratic code."
    rows = [json.loads(l) for l in open(DATA / "r1_traces" / "dev.jsonl")]
    g = HeuristicGSRM()
    t0 = time.process_time()
    for _ in range(3):
        g.extract_batch([r["problem"] for r in rows], [r["trace"] for r in rows])
    rate = 3 * len(rows) / max(time.process_time() - t0, 1e-9)
    assert rate >= 150, rate


def test_gsm8k_closing_answer_sentence_is_the_final_not_a_step():
    "A solution that ends 'The answer is 18.' (as GSM8K data builders write '#### 18') has the same steps as with '####'."
    plain = "Janet sells 16 - 3 - 4 = 9 duck eggs a day.\nShe makes 9 * 2 = $18 every day.\n"
    a, b = extract("q", plain + "#### 18"), extract("q", plain + "The answer is 18.")
    assert len(a) == len(b) == 2
    assert a.final_answer == b.final_answer == "18"
    assert [s.answer for s in a] == [s.answer for s in b]
