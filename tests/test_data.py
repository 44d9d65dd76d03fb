"""Loaders of rlkd_nb.data: JSONL, GSM8K (plain and Socratic), OpenR1-style rows, the built-in generator."""
import json
from pathlib import Path
import pytest
from rlkd_nb.core import Structure
from rlkd_nb.data import (DataError, load_builtin, load_gsm8k_jsonl, load_jsonl, load_openr1, parse_socratic,
                          gsm8k_gold, think_text, write_jsonl_atomic, iter_jsonl, socratic_answer)

GSM = Path(__file__).resolve().parents[2] / "shared" / "data" / "gsm8k"

SOC = ("How many eggs does Janet sell? ** Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n"
       "How much does Janet make at the farmers' market? ** She makes 9 * 2 = $<<9*2=18>>18 every day at the farmer's market.\n"
       "#### 18")

def test_parse_socratic_steps_and_gold():
    st = parse_socratic(SOC)
    assert [s.subproblem for s in st] == ["How many eggs does Janet sell?", "How much does Janet make at the farmers' market?"]
    assert [s.answer for s in st] == ["9", "18"]          # the stated result, no derivation
    assert st.final_answer == "18"
    assert all(s.meta for s in st) and st[0].meta.startswith("First") and st[1].meta.startswith("Finally")
    assert SOC[st[0].span[0]:st[0].span[1]].startswith("How many eggs")

def test_parse_socratic_line_without_separator_warns():
    st = parse_socratic("Just a sentence with 3 apples.\n#### 3")
    assert len(st) == 1 and st[0].subproblem == "" and st.warnings

def test_gsm8k_gold_strips_commas():
    assert gsm8k_gold("a\nb\n#### 1,200") == "1200"
    assert gsm8k_gold("no answer line") == ""

def test_load_gsm8k_plain_and_socratic(tmp_path):
    p = tmp_path / "g.jsonl"
    p.write_text(json.dumps({"question": "Janet's ducks...", "answer": SOC}) + "\n" + json.dumps({"question": "Q2", "answer": "2+2=<<2+2=4>>4\n#### 4"}) + "\n")
    soc = load_gsm8k_jsonl(p, socratic=True)
    assert soc[0]["answer"] == "18" and soc[0]["problem"] == "Janet's ducks..."
    assert " ** " not in soc[0]["teacher_trace"] and "####" not in soc[0]["teacher_trace"]
    assert len(Structure.from_dict(soc[0]["teacher_structure"])) == 2
    plain = load_gsm8k_jsonl(p, limit=1)
    assert len(plain) == 1 and "teacher_structure" not in plain[0] and "<<16-3-4=9>>" in plain[0]["teacher_trace"]

def test_load_gsm8k_bad_line_names_line(tmp_path):
    p = tmp_path / "g.jsonl"
    p.write_text(json.dumps({"question": "q", "answer": "1\n#### 1"}) + "\n" + json.dumps({"q": 1}) + "\n")
    with pytest.raises(DataError, match=r"g.jsonl:2: .*needs 'question' and 'answer'"):
        load_gsm8k_jsonl(p)

@pytest.mark.skipif(not (GSM / "socratic_dev.jsonl").exists(), reason="dev data not present")
def test_real_socratic_file_every_problem_has_steps():
    recs = load_gsm8k_jsonl(GSM / "socratic_dev.jsonl", socratic=True)
    assert len(recs) == 660
    for r in recs:
        st = Structure.from_dict(r["teacher_structure"])
        assert len(st) >= 1 and all(s.subproblem and s.answer for s in st), r["problem"]
        assert st.final_answer == r["answer"]
    # the step answers are short results: nearly all a number, and the last step's is nearly always the gold answer
    answers = [s.answer for r in recs for s in Structure.from_dict(r["teacher_structure"])]
    assert sum(a.replace(".", "", 1).replace("-", "", 1).replace("%", "").replace("/", "", 1).isdigit() for a in answers) / len(answers) > 0.99
    last_ok = sum(float(Structure.from_dict(r["teacher_structure"])[-1].answer.rstrip("%")) == float(r["answer"])
                  for r in recs if Structure.from_dict(r["teacher_structure"])[-1].answer.replace(".", "", 1).isdigit())
    assert last_ok / len(recs) > 0.9

def test_socratic_answer_is_the_stated_result():
    assert socratic_answer("There are 15 x 3/5 = <<15*3/5=9>>9 liters of water from the 15 liters drink.") == "9"
    assert socratic_answer("So the price is 80,000+50,000=$<<80000+50000=130000>>130,000") == "130000"
    assert socratic_answer("That is $<<20*35=700>>700/week") == "700"
    assert socratic_answer("Dividing both sides by .75, we get X = $26.") == "26"
    assert socratic_answer("Charlie has 54 − 37 = 17 stickers left.") == "17"
    assert socratic_answer("no number here") == "no number here"

def test_legacy_structure_key_is_read_as_teacher_structure(tmp_path):
    p = tmp_path / "old.jsonl"
    p.write_text(json.dumps({"problem": "p", "answer": "1", "trace": "t", "structure": {"steps": [], "final": "1"}}) + "\n")
    r = load_jsonl(p, teacher_structure="teacher_structure")[0]
    assert r["teacher_structure"] == {"steps": [], "final_answer": "1", "warnings": []} and "structure" not in r

def test_load_jsonl_named_fields(tmp_path):
    p = tmp_path / "mine.jsonl"
    rows = [{"q": "What is 2+3?", "gold": 5, "cot": "2+3=5.", "extra": 1},
            {"q": "What is 1+1?", "gold": "2", "cot": "1+1=2.", "st": {"steps": [{"meta": "m", "subproblem": "s?", "answer": "2"}]}}]
    write_jsonl_atomic(p, rows)
    recs = load_jsonl(p, problem="q", answer="gold", trace="cot", teacher_structure="st", keep=True)
    assert recs[0]["answer"] == "5" and recs[0]["teacher_trace"] == "2+3=5." and recs[0]["extra"] == 1
    assert "teacher_structure" not in recs[0] and recs[1]["teacher_structure"]["steps"][0]["answer"] == "2"
    assert recs[0]["id"] == "mine-1"
    assert load_jsonl(p, problem="q", answer=None, trace=None)[0]["teacher_trace"] == ""
    with pytest.raises(DataError, match=r"mine.jsonl:1: missing field 'trace'"):
        load_jsonl(p, problem="q", answer="gold")

def test_load_jsonl_bad_json_and_non_object(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"problem": "a", "answer": "1", "trace": "t"}\n\n{broken\n')
    with pytest.raises(DataError, match=r"bad.jsonl:3: bad JSON"):
        load_jsonl(p)
    p.write_text('[1, 2]\n')
    with pytest.raises(DataError, match="expected a JSON object"):
        load_jsonl(p)
    with pytest.raises(DataError, match="no such file"):
        load_jsonl(tmp_path / "missing.jsonl")

def test_think_text():
    assert think_text("<think>\nabc\n</think>\nanswer") == "abc"
    assert think_text("no tags") == "no tags"
    assert think_text("") == ""

OPENR1_ROWS = [
    {"problem": "What is 2+2?", "answer": "4", "uuid": "u1",
     "generations": ["<think>\nTwo plus two is five.\n</think> 5", "<think>\nTwo plus two is 4.\n</think>\n\\boxed{4}", "<think>third</think>"],
     "correctness_math_verify": [False, True, True], "correctness_llama": None},
    {"problem": "No correct one", "answer": "1", "uuid": None, "generations": ["<think>x</think>"], "correctness_math_verify": [False], "correctness_llama": None},
    {"problem": "Only llama flags", "answer": "3", "generations": ["<think>\nso 3\n</think> 3"], "uuid": None, "correctness_math_verify": None, "correctness_llama": [True]},
]

def _check_openr1(recs):
    assert [r["problem"] for r in recs] == ["What is 2+2?", "Only llama flags"]
    assert recs[0]["teacher_trace"] == "Two plus two is 4."      # first generation flagged correct, before </think>
    assert recs[0]["answer"] == "4" and recs[0]["id"] == "u1"
    assert recs[1]["teacher_trace"] == "so 3"

def test_load_openr1_local_jsonl(tmp_path):
    p = tmp_path / "openr1.jsonl"
    write_jsonl_atomic(p, OPENR1_ROWS)
    _check_openr1(load_openr1(p))
    assert len(load_openr1(p, n=1)) == 1

def test_load_openr1_local_parquet_dir(tmp_path):
    pa = pytest.importorskip("pyarrow"); pq = pytest.importorskip("pyarrow.parquet")
    d = tmp_path / "data"; d.mkdir()
    pq.write_table(pa.Table.from_pylist(OPENR1_ROWS), d / "train-00000.parquet")
    _check_openr1(load_openr1(d))

def test_load_openr1_unknown_source_is_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1"); monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataError, match="cannot load"):
        load_openr1(str(tmp_path / "does-not-exist"))

def test_write_jsonl_atomic_keeps_old_file_on_interrupt(tmp_path):
    p = tmp_path / "out.jsonl"
    write_jsonl_atomic(p, [{"a": 1}])
    def gen():
        yield {"a": 2}
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        write_jsonl_atomic(p, gen())
    assert [r for _, r in iter_jsonl(p)] == [{"a": 1}]
    assert [x.name for x in tmp_path.iterdir()] == ["out.jsonl"]

def test_builtin_deterministic_by_seed():
    a, b, c = load_builtin(30, seed=7), load_builtin(30, seed=7), load_builtin(30, seed=8)
    assert a == b
    assert a != c
    assert load_builtin(10, seed=7) == a[:10]      # a prefix of the same stream
    assert load_builtin(0) == []
    with pytest.raises(DataError):
        load_builtin(-1)

def test_builtin_structure_final_equals_gold_and_spans():
    data = load_builtin(200, seed=3)
    assert len({r["problem"] for r in data}) > 150
    templates = {r["template"] for r in data}
    assert len(templates) >= 8
    n_two = 0
    for r in data:
        st = Structure.from_dict(r["teacher_structure"])
        assert st.final_answer == r["answer"] == st[-1].answer
        assert int(r["answer"]) >= 0 and str(int(r["answer"])) == r["answer"]   # integer gold
        assert 3 <= len(st) <= 4                      # the chosen sub-problems, then the check
        assert st[-1].subproblem.startswith("Is ") and st[-1].meta.startswith("Wait")
        n_two += len(st) == 3
        for s in st:
            assert s.subproblem.endswith("?") and s.meta and s.answer.lstrip("-").isdigit()
            assert s.span is not None and r["teacher_trace"][s.span[0]:s.span[1]].strip()
        tr = r["teacher_trace"]
        assert tr.startswith("Okay, so") and "I could start with" in tr and "\\boxed{" + r["answer"] + "}" in tr
        assert "I could start with" in st[0].meta          # the rejected alternative is part of the first meta
    assert n_two >= 30        # some easy 2-step problems

def test_builtin_step_answers_are_consistent_arithmetic():
    import re
    for r in load_builtin(100, seed=11):
        st = Structure.from_dict(r["teacher_structure"])
        for s in st:
            seg = r["teacher_trace"][s.span[0]:s.span[1]]
            found = re.findall(r"((?:\d+ [-+*/] )+\d+) = (\d+)", seg)
            assert found, seg
            for expr, res in found:
                assert eval(expr) == int(res), seg
