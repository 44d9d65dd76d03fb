"""rlkd_nb.llm_gsrm beyond its notebook: a real (tiny) model end to end, the cache across instances, malformed and failing backends,
QLoRA, an HTTP annotator, GSM8K data, and the command line."""
import json, threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from rlkd_nb.core import Step, Structure, parse_gsrm
from rlkd_nb.gsrm import GSRM, get_gsrm, evaluate_gsrm, compare_gsrms
from rlkd_nb import llm_gsrm as L

GOOD = ("[Meta-reasoning 1]: First count the muffins sold.\n[Sub-problem 1]: How many muffins were sold?\n[Answer 1]: 33\n"
        "[Meta-reasoning 2]: Then price them.\n[Sub-problem 2]: How much money is that?\n[Answer 2]: 99\nSo the final answer is: 99\n")
MALFORMED = {
    "no_tags": "Sure, here is how I would think about it: count, then multiply.",
    "truncated": "[Meta-reasoning 1]: First count the muffins sold.\n[Sub-problem 1]: How many mu",
    "repeated": "[Meta-reasoning 1]: count\n" * 40,
    "empty": "",
    "chatter_after": GOOD + "[Meta-reasoning 3]: I will now repeat everything\n[Sub-problem 3]: ?",
}


@pytest.fixture
def tiny():
    from rlkd_nb.models import tiny_model
    return tiny_model()


@pytest.fixture
def cache_path(tmp_path):
    return tmp_path / "gsrm.sqlite"


def test_is_a_gsrm_and_get_gsrm_maps_llm(cache_path):
    g = get_gsrm("llm", model="no/such-model", cache=cache_path)   # lazy: nothing is loaded yet
    assert isinstance(g, L.LLMGSRM) and isinstance(g, GSRM) and g.name == "llm"
    assert g.name_or_path == "no/such-model" and g.model is None


def test_same_system_prompt_at_training_and_inference(tiny):
    _, tok = tiny
    seen = []
    g = L.LLMGSRM(generate_fn=lambda chats: seen.extend(chats) or [GOOD] * len(chats), shots=0, cache=False)
    g.extract("p", "r")
    assert seen[0][0] == {"role": "system", "content": L.SYSTEM_PROMPT}
    ex = L.encode_example(tok, "p", "r", parse_gsrm(GOOD), max_len=4000)
    prompt_ids = [i for i, l in zip(ex["input_ids"], ex["labels"]) if l == -100]
    prompt = tok.decode(prompt_ids)
    assert L.SYSTEM_PROMPT in prompt and prompt == tok.apply_chat_template(seen[0], tokenize=False, add_generation_prompt=True)


def test_tiny_model_extraction_never_crashes(tiny, cache_path):
    g = L.LLMGSRM(tiny, cache=cache_path, max_new_tokens=24, batch_size=2)
    ss = g.extract_batch(["What is 2+2?", "What is 3*3?", "x"], ["2+2=4", "3*3=9", ""])
    assert len(ss) == 3 and [len(s.steps) for s in ss] == [0, 0, 0]
    assert g.stats["generated"] == 3 and g.stats["gen_errors"] == 0
    # a random tiny model writes no tags: every output is counted as malformed, with a warning
    assert g.stats["no_steps"] == 3 and all(s.warnings for s in ss)
    assert g.stats["hit_limit"] == 3


def test_cache_serves_a_second_extraction(tiny, cache_path):
    model, tok = tiny
    g = L.LLMGSRM((model, tok), cache=cache_path, max_new_tokens=48, batch_size=4)
    probs, reas = [f"problem {i}" for i in range(4)], [f"reasoning {i} " * 5 for i in range(4)]
    first = g.extract_batch(probs, reas)
    second = g.extract_batch(probs, reas)
    assert [s.to_dict() for s in first] == [s.to_dict() for s in second]
    assert g.stats["cache_hits"] == 4 and g.stats["generated"] == 4          # the second call generated nothing
    # a fresh extractor on the same file hits too; a different prompt setting misses
    g2 = L.LLMGSRM((model, tok), cache=cache_path, max_new_tokens=48)
    g2.extract_batch(probs, reas); assert g2.stats["cache_hits"] == 4 and g2.stats["generated"] == 0
    g3 = L.LLMGSRM((model, tok), cache=cache_path, max_new_tokens=48, shots=0)
    g3.extract_batch(probs[:1], reas[:1]); assert g3.stats["cache_hits"] == 0


def test_fingerprint_changes_with_weights(tiny):
    import torch
    model, _ = tiny
    a = L.model_fingerprint(model)
    with torch.no_grad(): next(model.parameters()).reshape(-1)[0] += 1.0
    assert L.model_fingerprint(model) != a


def test_malformed_generations_are_counted(cache_path):
    names = list(MALFORMED)
    g = L.LLMGSRM(generate_fn=lambda chats: [MALFORMED[c[-1]["content"].split("\n")[1]] for c in chats],
                  cache=cache_path, model_id="fake", batch_size=3)
    ss = dict(zip(names, g.extract_batch(names, ["r"] * len(names))))
    assert len(ss["no_tags"]) == 0 and len(ss["empty"]) == 0
    assert len(ss["truncated"]) == 1 and any("truncated" in w or "missing" in w for w in ss["truncated"].warnings)
    assert len(ss["repeated"]) == 1 and any("duplicate" in w for w in ss["repeated"].warnings)
    assert len(ss["chatter_after"]) == 2 and ss["chatter_after"].final_answer == "99"   # clipped at the final-answer line
    st = g.stats
    assert st["no_steps"] == 2 and st["duplicate"] == 1 and st["generated"] == 5 and st["gen_errors"] == 0


def test_backend_errors_become_warnings():
    calls = []
    def flaky(chats):
        calls.append(len(chats))
        if len(calls) == 1: raise RuntimeError("CUDA out of memory")
        if len(calls) == 2: return [GOOD]                 # wrong number of outputs
        return [None] * len(chats)                        # not text
    g = L.LLMGSRM(generate_fn=flaky, cache=False, batch_size=2)
    ss = g.extract_batch(["a", "b", "c", "d", "e"], ["r"] * 5)
    assert [s.warnings[0] for s in ss[:4]] == ["GSRM generation failed"] * 4
    assert len(ss[4]) == 0 and g.stats["gen_errors"] == 4
    with pytest.raises(ValueError, match="2 problems but 1 reasonings"):
        g.extract_batch(["a", "b"], ["r"])


def test_generation_errors_are_not_cached(cache_path):
    state = {"fail": True}
    def fn(chats):
        if state["fail"]: raise RuntimeError("boom")
        return [GOOD] * len(chats)
    g = L.LLMGSRM(generate_fn=fn, cache=cache_path, model_id="fake")
    assert len(g.extract("p", "r")) == 0
    state["fail"] = False
    assert len(g.extract("p", "r")) == 2


def test_stop_at_final_answer_line(tiny):
    import torch
    _, tok = tiny
    stop = L._make_stopper(tok, 0)
    rows = ["[Answer 1]: 4\nSo the final answer is: 4\n", "[Answer 1]: 4\nSo the final answer is:", "[Answer 1]: 4\n"]
    ids = [tok(r, add_special_tokens=False)["input_ids"] for r in rows]
    n = max(map(len, ids))
    batch = torch.tensor([[tok.pad_token_id] * (n - len(x)) + x for x in ids])
    assert stop(batch, None).tolist() == [True, False, False]
    assert L.clip_output(rows[0] + "[Meta-reasoning 2]: more") == rows[0].strip()


def test_long_reasoning_is_cut_with_warning():
    seen = []
    g = L.LLMGSRM(generate_fn=lambda chats: seen.extend(chats) or [GOOD] * len(chats), cache=False, max_reasoning_chars=100)
    s = g.extract("p", "a" * 60 + "b" * 500 + "c" * 60)
    assert any("was cut" in w for w in s.warnings) and g.stats["cut_inputs"] == 1
    user = seen[0][-1]["content"]
    assert "a" * 50 in user and "c" * 50 in user and "b" * 100 not in user


# ---- data builders -------------------------------------------------------------------------------

def test_gsm8k_socratic_pairs(shared_data):
    d = shared_data / "gsm8k"
    pairs = L.gsm8k_socratic_pairs(d / "socratic_dev.jsonl", d / "test.jsonl")
    assert len(pairs) == 660
    soc = [json.loads(l) for l in open(d / "socratic_dev.jsonl")]
    for p, s in zip(pairs[:50], soc[:50]):
        st = Structure.from_dict(p["teacher_structure"])
        assert len(st) == sum("**" in l for l in s["answer"].split("\n"))
        assert st.final_answer == s["answer"].split("####")[-1].strip().replace(",", "")
        assert "<<" not in p["reasoning"] and "**" not in p["reasoning"]
        assert all(x.meta and x.subproblem and x.answer for x in st)
    assert [x.answer for x in Structure.from_dict(pairs[0]["teacher_structure"])] == ["9", "18"]


def test_load_structure_pairs(tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text(json.dumps({"problem": "p", "reasoning": "r", "teacher_structure": GOOD}) + "\n"
                 + json.dumps({"problem": "q", "reasoning": "r", "teacher_structure": parse_gsrm(GOOD).to_dict()}) + "\n")
    ps = L.load_structure_pairs(f)
    assert len(ps) == 2 and ps[0]["teacher_structure"] == ps[1]["teacher_structure"]
    f.write_text(json.dumps({"problem": "p", "reasoning": "r"}) + "\n")
    with pytest.raises(ValueError, match=r"p.jsonl:1: missing field 'teacher_structure'"): L.load_structure_pairs(f)
    f.write_text('{"problem": "p", "reasoning": "r", "teacher_structure": {"steps": [{"meta": 1}]}}\n')
    with pytest.raises(ValueError, match=r"p.jsonl:1: .*steps\[0\]"): L.load_structure_pairs(f)


# ---- weighted loss -------------------------------------------------------------------------------

def test_encode_example_weights_by_field(tiny):
    _, tok = tiny
    st = parse_gsrm(GOOD)
    ex = L.encode_example(tok, "p", "r", st, max_len=4000, meta_weight=3.0, solve_weight=0.5)
    ids, lab, w = ex["input_ids"], ex["labels"], ex["weights"]
    assert all(x == 0.0 for x, l in zip(w, lab) if l == -100) and lab[0] == -100
    dec = lambda v: tok.decode([i for i, x in zip(ids, w) if x == v])
    assert dec(3.0) == "".join(s.meta for s in st)
    assert dec(0.5) == "".join(s.subproblem + s.answer for s in st)
    assert "[Meta-reasoning 1]: " in dec(1.0) and "So the final answer is: 99" in dec(1.0)
    assert tok.decode([i for i, l in zip(ids, lab) if l != -100]).startswith(st.to_text())
    assert L.encode_example(tok, "p", "r", st, max_len=50) is None        # too long: skipped, not truncated
    assert L.encode_example(tok, "p", "r", Structure(), max_len=4000) is None


# ---- training ------------------------------------------------------------------------------------

def _pairs(n=6):
    return [{"problem": f"Ann has {i} apples and buys 2 more. How many now?", "reasoning": f"{i} + 2 = {i + 2}.",
             "teacher_structure": Structure([Step("Add the apples bought.", f"What is {i} + 2?", str(i + 2))], final_answer=str(i + 2)).to_dict()}
            for i in range(n)]


def test_train_gsrm_tiny_lora_and_reload(tmp_path):
    bad = [{"problem": "p", "reasoning": "r", "teacher_structure": "no tags at all"},
           {"problem": "p", "reasoning": "r", "teacher_structure": {"steps": "oops"}},
           {"problem": "p", "reasoning": "x" * 5000, "teacher_structure": _pairs(1)[0]["teacher_structure"]}]     # too long for 2000 tokens
    res = L.train_gsrm(_pairs() + bad, "tiny", tmp_path / "gsrm", max_steps=4, batch_size=2, max_len=2000, lr=1e-3,
                       meta_weight=2.0, solve_weight=1.0, logging_steps=1)
    assert res.n_train == 6 and res.skipped == {"bad_structure": 1, "too_long": 1, "bad_record": 1}
    assert len(res.losses) == 4 and all(x["loss"] > 0 for x in res.losses)
    cfg = json.loads((tmp_path / "gsrm" / "gsrm_config.json").read_text())
    assert cfg["shots"] == 0 and cfg["system"] == L.SYSTEM_PROMPT and cfg["meta_weight"] == 2.0
    assert (tmp_path / "gsrm" / "adapter_config.json").exists()
    g = L.LLMGSRM(str(tmp_path / "gsrm"), cache=False, max_new_tokens=8)
    assert g.shots == 0
    s = g.extract("p", "r")
    assert g.stats["generated"] == 1 and g.stats["gen_errors"] == 0 and g.stats["cache_hits"] == 0


def test_train_gsrm_no_usable_pairs():
    with pytest.raises(ValueError, match="no usable training pairs"):
        L.train_gsrm([{"problem": "p", "reasoning": "r", "teacher_structure": "garbage"}], "tiny", None, max_steps=1)


def test_train_gsrm_qlora_cpu():
    pytest.importorskip("bitsandbytes")
    res = L.train_gsrm(_pairs(4), "tiny", None, max_steps=2, batch_size=2, max_len=2000, quantization="4bit", logging_steps=1)
    assert res.config["quantization"] == "4bit" and len(res.losses) == 2


# ---- annotation ----------------------------------------------------------------------------------

class _Stub(BaseHTTPRequestHandler):
    replies = []
    requests = []
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Stub.requests.append((self.path, dict(self.headers), body))
        code, text = _Stub.replies.pop(0) if _Stub.replies else (200, GOOD)
        self.send_response(code); self.send_header("Content-Type", "application/json"); self.end_headers()
        if code == 200: self.wfile.write(json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode())
        else: self.wfile.write(b'{"error": "overloaded"}')
    def log_message(self, *a): pass


@pytest.fixture
def stub_server():
    srv = HTTPServer(("127.0.0.1", 0), _Stub)
    th = threading.Thread(target=srv.serve_forever, daemon=True); th.start()
    _Stub.replies, _Stub.requests = [], []
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown(); srv.server_close()


def test_annotate_with_openai_compatible_stub(stub_server):
    _Stub.replies = [(500, ""), (200, "I cannot do that."), (200, GOOD),      # trace 0: ok at the 3rd attempt
                     (200, "nope"), (200, "nope"), (200, "nope")]              # trace 1: fails every attempt
    ann = L.OpenAIAnnotator(stub_server, model="teacher-7b", api_key="sk-test", timeout=5)
    traces = [{"problem": "muffins", "reasoning": "40-7=33, 33*3=99"}, {"problem": "other", "teacher_trace": "t"}]
    good, failed = L.annotate(traces, ann, retries=2)
    assert len(good) == 1 and good[0]["attempts"] == 3 and len(Structure.from_dict(good[0]["teacher_structure"])) == 2
    assert failed == [{"index": 1, "problem": "other", "attempts": 3, "errors": failed[0]["errors"]}]
    assert len(failed[0]["errors"]) == 3 and "unusable output" in failed[0]["errors"][0]
    path, headers, body = _Stub.requests[0]
    assert path == "/v1/chat/completions" and headers["Authorization"] == "Bearer sk-test"
    assert body["model"] == "teacher-7b" and body["temperature"] == 0
    assert body["messages"][0]["content"] == L.SYSTEM_PROMPT and "40-7=33" in body["messages"][-1]["content"]
    assert len(_Stub.requests) == 6


def test_annotate_with_a_gsrm_and_unreachable_endpoint():
    g = L.LLMGSRM(generate_fn=lambda chats: [GOOD] * len(chats), cache=False)
    good, failed = L.annotate([{"problem": "p", "reasoning": "r"}], g)
    assert len(good) == 1 and not failed
    dead = L.OpenAIAnnotator("http://127.0.0.1:9/v1", model="m", timeout=1)
    good, failed = L.annotate([{"problem": "p", "reasoning": "r"}], dead, retries=1)
    assert not good and failed[0]["attempts"] == 2 and "URLError" in failed[0]["errors"][0]


# ---- evaluation ----------------------------------------------------------------------------------

def test_evaluate_gsrm_figures():
    ref = parse_gsrm(GOOD)
    pairs = [{"problem": "p", "reasoning": "r", "teacher_structure": ref.to_dict()}] * 2
    wrong = Structure([Step("m", "How many apples?", "34")], final_answer="34")
    r = evaluate_gsrm([ref, wrong], pairs, judge="lexical", per_record=True)
    assert r["step_count_acc"] == 0.5 and r["step_count_mae"] == 0.5 and r["count_ratio"] == 0.75
    assert r["answer_agreement"] == round(2 / 3, 4) and r["answer_recall"] == 0.5 and r["coverage"] == 0.5
    assert r["final_answer"] == 0.5 and r["parse_failure_rate"] == 0.0 and r["similarity_judge"] == "lexical"
    assert [x["answer_recall"] for x in r["records"]] == [1.0, 0.0]
    r = evaluate_gsrm([Structure(), ref], pairs, judge="lexical")
    assert r["parse_failure_rate"] == 0.5 and r["subproblem_similarity"] == 1.0


def test_evaluate_side_by_side_with_heuristic(shared_data):
    d = shared_data / "gsm8k"
    pairs = L.gsm8k_socratic_pairs(d / "socratic_dev.jsonl", d / "test.jsonl")[-10:]
    fake = L.LLMGSRM(generate_fn=lambda chats: ["no tags"] * len(chats), cache=False)
    t = compare_gsrms({"heuristic": get_gsrm("heuristic"), "llm": fake}, pairs, judge="lexical")
    assert set(t) == {"heuristic", "llm"} and t["llm"]["parse_failure_rate"] == 1.0
    assert t["heuristic"]["parse_failure_rate"] < 1.0 and t["heuristic"]["answer_agreement"] > 0


# ---- CLI -----------------------------------------------------------------------------------------

def test_cli_gsrm_eval_and_errors(shared_data, capsys):
    from rlkd_nb.cli import main
    d = shared_data / "gsm8k"
    rc = main(["gsrm-eval", "--socratic", str(d / "socratic_dev.jsonl"), "--plain", str(d / "test.jsonl"),
               "--rows", "0:5", "--backend", "heuristic", "--judge", "lexical"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["heuristic"]["n"] == 5
    rc = main(["gsrm-eval", "--data", "/nonexistent.jsonl"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("rlkd gsrm-eval:") and len(err.strip().splitlines()) == 1


def test_cli_gsrm_eval_on_reference_decompositions(shared_data, capfd):
    "`rlkd gsrm-eval --references --traces` on the 14 R1 references, with the structure reward reported; stdout is the JSON alone."
    from rlkd_nb.cli import main
    r1 = shared_data / "r1_traces"
    rc = main(["gsrm-eval", "--references", str(r1 / "dev_reference.jsonl"), "--traces", str(r1 / "dev.jsonl")])
    out, err = capfd.readouterr()
    assert rc == 0, err
    h = json.loads(out)["heuristic"]
    assert h["n"] == 14 and h["final_answer"] == 1.0 and h["answer_recall"] > 0.6 and h["structure_reward"] > 0.011


def test_cli_gsrm_train_tiny(tmp_path, capsys):
    from rlkd_nb.cli import main
    f = tmp_path / "pairs.jsonl"
    f.write_text("".join(json.dumps(p) + "\n" for p in _pairs(4)))
    rc = main(["gsrm-train", "--data", str(f), "--model", "tiny", "--out", str(tmp_path / "o"), "--steps", "2",
               "--max-len", "2000", "--meta-weight", "1.5"])
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0 and res["n_train"] == 4 and res["config"]["meta_weight"] == 1.5
    assert (tmp_path / "o" / "gsrm_config.json").exists()
    rc = main(["gsrm-train", "--data", str(f), "--model", "tiny", "--out", str(tmp_path / "o2"), "--max-len", "5"])
    assert rc == 2 and "no usable training pairs" in capsys.readouterr().err


@pytest.mark.slow
def test_packaged_smollm2_extraction(tmp_path):
    g = L.LLMGSRM(None, cache=tmp_path / "c.sqlite", max_new_tokens=64)
    s = g.extract(L.FEW_SHOT[0]["problem"], "They sold 40 - 7 = 33 muffins, which at $3 each is 33 * 3 = 99 dollars.")
    assert g.stats["generated"] == 1 and g.stats["gen_errors"] == 0 and g.stats["cache_hits"] == 0
    s2 = g.extract(L.FEW_SHOT[0]["problem"], "They sold 40 - 7 = 33 muffins, which at $3 each is 33 * 3 = 99 dollars.")
    assert s2.to_dict() == s.to_dict() and g.stats["cache_hits"] == 1 and g.stats["generated"] == 1


def test_rlkd_extract_backend_llm_tiny(tmp_path, monkeypatch, capsys):
    from rlkd_nb.cli import main
    monkeypatch.setenv("RLKD_CACHE_DIR", str(tmp_path / "cache"))
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps({"problem": "What is 2+2?", "trace": "2+2 = 4. The answer is 4."}) + "\n")
    rc = main(["extract", str(f), "-o", str(tmp_path / "out.jsonl"), "--backend", "llm", "--model", "tiny", "-q"])
    assert rc == 0
    rec = json.loads((tmp_path / "out.jsonl").read_text().splitlines()[0])
    Structure.from_dict(rec["teacher_structure"])        # the JSON form (raises SchemaError when malformed)
    assert "structure" not in rec
    assert (tmp_path / "cache" / "gsrm" / "cache.sqlite").exists()


def test_loaded_model_needs_tokenizer(tiny):
    with pytest.raises(ValueError, match="pass the tokenizer"):
        L.LLMGSRM(tiny[0])
