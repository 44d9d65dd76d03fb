"""Training: presets against the paper, rewards per method, data slices, QLoRA GRPO, SFT masking, every method end to end,
kill + resume, CLI in a subprocess. (Config layering and validation are in 09_train; run-directory safety in
test_runs_safety.py; launcher configs and multi-process runs in test_multiprocess.py.)"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlkd_nb import train
from rlkd_nb.train import (METHODS, TrainConfig, build_dataset, global_step, grpo_args, last_checkpoint,
                           list_presets, load_trained, presets_dir, reward_set, run_config, train_method)
from rlkd_nb.logs import read_metrics
from rlkd_nb.reward import step_count_reward

ROOT = Path(__file__).resolve().parent.parent
RLKD = [sys.executable, "-m", "rlkd_nb.cli"]


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    # the tiny model dir is shared by every test of the session; SmolLM2 is never touched here
    monkeypatch.setenv("RLKD_NB_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def tiny(tmp_path, **kw):
    kw.setdefault("judge", "lexical")
    kw.setdefault("output_dir", str(tmp_path / "run"))
    return TrainConfig.load("tiny", **kw)


# ---------------------------------------------------------------- presets and configs

def test_every_preset_loads_and_states_memory():
    assert {"cpu-tiny", "gpu-8gb", "gpu-24gb", "paper", "tiny"} <= set(list_presets())
    for name in list_presets():
        c = TrainConfig.load(name)
        assert c.expected_memory and c.description, name
        assert c.per_device_train_batch_size % c.num_generations == 0
    assert TrainConfig.load("cpu-tiny").model == "smollm2" and TrainConfig.load("cpu-tiny").quantization is None
    assert 64 <= TrainConfig.load("cpu-tiny").max_completion_length <= 128
    for g in ("gpu-8gb", "gpu-24gb"):
        assert TrainConfig.load(g).quantization == "4bit"
    assert "1.5B" in TrainConfig.load("gpu-8gb").model and "7B" in TrainConfig.load("gpu-24gb").model


def test_paper_preset_matches_method_md():
    c = TrainConfig.load("paper")
    assert (c.num_generations, c.learning_rate, c.max_grad_norm, c.beta, c.temperature) == (4, 5e-5, 0.2, 0.04, 0.7)
    assert (c.max_completion_length, c.warmup_ratio, c.lr_scheduler_type) == (4096, 0.1, "constant_with_warmup")
    assert c.model == "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B" and c.zero_model == "Qwen/Qwen2.5-Math-7B"
    import yaml
    procs = yaml.safe_load(train.accelerate_config_path(c.accelerate_config).read_text())["num_processes"]
    assert procs * c.per_device_train_batch_size * c.gradient_accumulation_steps == 32   # 8 prompts x 4
    assert TrainConfig.load("paper", method="rlkd-zero").student == "Qwen/Qwen2.5-Math-7B"


# ---------------------------------------------------------------- rewards per method

def test_reward_sets_per_method(tmp_path):
    names = {}
    for m in METHODS[1:]:
        funcs, w = reward_set(tiny(tmp_path, method=m))
        names[m] = ([getattr(f, "__name__", type(f).__name__) for f in funcs], w)
    outcome = ["accuracy_reward", "format_reward", "tag_count_reward"]
    assert names["grpo-outcome"] == (outcome, [15.0, 10.0, 10.0])
    assert names["grpo-steps"] == (outcome + ["step_count_reward"], [15.0, 10.0, 10.0, 15.0])
    assert names["rlkd"] == (outcome + ["rlkd_structure"], [15.0, 10.0, 10.0, 15.0])
    assert names["rlkd-zero"] == names["rlkd"]
    funcs, _ = reward_set(tiny(tmp_path, method="rlkd", reward_mode="normalized"))
    assert funcs[3].mode == "normalized"
    assert reward_set(tiny(tmp_path, method="sft")) == (None, None)


def test_step_count_reward_counts_markers_in_reasoning_only():
    r = step_count_reward([
        "<think>\nStep 1: a\nStep 2: b\nStep 3: c\nStep 4: d\n</think>\n<answer>\n1\n</answer>",
        "<think>\nFirst, a. Then, b.\n</think>\n<answer>\nStep 1: Step 2: Step 3:\n</answer>",
        "no markers at all",
        [{"role": "assistant", "content": "1. a\n2. b\n- c"}]])
    assert r == [1.0, 2 / 3, 0.0, 1.0]
    assert step_count_reward(["Step 1: a"], cap=4) == [0.25]


def test_same_data_slice_for_every_method(tmp_path):
    probs = {m: build_dataset(tiny(tmp_path, method=m, n_train=5))["problem"] for m in METHODS}
    assert len({tuple(p) for p in probs.values()}) == 1
    assert build_dataset(tiny(tmp_path, n_train=5, seed=1))["problem"] != probs["rlkd"]


def test_jsonl_dataset_gets_teacher_structures_once(tmp_path):
    from rlkd_nb.gsrm import extract
    from rlkd_nb.data import load_builtin, write_jsonl_atomic
    recs = [{k: r[k] for k in ("problem", "answer", "teacher_trace")} for r in load_builtin(3)]
    write_jsonl_atomic(tmp_path / "d.jsonl", recs)
    ds = build_dataset(tiny(tmp_path, dataset=str(tmp_path / "d.jsonl")))
    assert len(ds) == 3 and all(len(json.loads(s)["steps"]) > 0 for s in ds["teacher_structure"])
    with pytest.raises(FileNotFoundError, match="dataset not found"):
        build_dataset(tiny(tmp_path, dataset=str(tmp_path / "missing.jsonl")))
    one = {"steps": [{"meta": "m", "subproblem": "q?", "answer": "1"}], "final": "1"}
    # the legacy key is read; a written structure is used where a record has no trace, a trace is extracted by the GSRM
    old = [{**r, "structure": one, "teacher_trace": r["teacher_trace"] if i == 0 else ""} for i, r in enumerate(recs)]
    write_jsonl_atomic(tmp_path / "old.jsonl", old)
    ds = build_dataset(tiny(tmp_path, dataset=str(tmp_path / "old.jsonl")))
    subs = [json.loads(s)["steps"][0]["subproblem"] for s in ds["teacher_structure"]]
    assert subs[1:] == ["q?"] * 2 and subs[0] != "q?" and subs[0] == extract(recs[0]["problem"], recs[0]["teacher_trace"])[0].subproblem


# ---------------------------------------------------------------- scaling-out configs (validated on CPU)

def test_grpo_config_with_vllm_builds_on_cpu(tmp_path):
    a = grpo_args(tiny(tmp_path, use_vllm=True, vllm_mode="server"), weights=[1, 1, 1, 1], cuda=False)
    assert a.use_vllm and a.vllm_mode == "server" and a.use_cpu and not a.bf16
    a = grpo_args(TrainConfig.load("paper", output_dir=str(tmp_path)), cuda=False)  # args only: vLLM never starts
    assert a.use_vllm and a.vllm_mode == "colocate" and a.bf16 and a.vllm_gpu_memory_utilization == 0.3


def test_launch_command_rebuilds_the_config():
    from rlkd_nb.train import config_from_args, train_argv
    from rlkd_nb.cli import build_parser
    cfg = TrainConfig.load("paper", output_dir="runs/p", method="rlkd-zero", max_steps=3, judge="lexical",
                           system_prompt="Think.\n\"Carefully\".", reward_weights=[1, 2, 3, 4.5], zero_model=None)
    cmd = train.launch_command(cfg, num_processes=4)
    assert cmd[:3] == ["accelerate", "launch", "--config_file"] and cmd[3].endswith("accelerate_zero3.yaml")
    assert cmd[4:9] == ["--num_processes", "4", "-m", "rlkd_nb.cli", "train"]
    assert config_from_args(build_parser().parse_args(cmd[8:])) == cfg          # the command runs exactly this config


# ---------------------------------------------------------------- training runs (tiny model)

def test_qlora_grpo_two_steps_on_cpu(tmp_path):
    """4-bit NF4 tiny model + LoRA + two GRPO steps; a length reward gives non-zero advantages so LoRA must move."""
    import bitsandbytes as bnb
    import torch
    from trl import GRPOTrainer
    cfg = tiny(tmp_path, quantization="4bit", max_steps=2, method="grpo-outcome", temperature=1.0)
    model, tok, peft = train._load_student(cfg)
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in model.modules())
    def length_reward(completions, **kw):
        return [float(len(c[0]["content"] if isinstance(c, list) else c)) for c in completions]
    tr = GRPOTrainer(model=model, reward_funcs=[length_reward], args=grpo_args(cfg, weights=[1.0]),
                     train_dataset=build_dataset(cfg, tokenizer=tok), processing_class=tok, peft_config=peft)
    tr.train()
    assert tr.state.global_step == 2
    lora_b = [p for n, p in tr.model.named_parameters() if "lora_B" in n]
    assert lora_b and any(p.detach().float().abs().sum() > 0 for p in lora_b)   # LoRA B starts at zero


def test_qlora_through_train_method(tmp_path):
    import bitsandbytes as bnb
    out = train_method("rlkd", tiny(tmp_path, quantization="4bit", max_steps=2, save_steps=2))
    assert global_step(out) == 2 and (out / "adapter_model.safetensors").exists()
    model, _ = load_trained(out)
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in model.modules())


def test_sft_masks_the_prompt(tmp_path):
    from trl import SFTTrainer
    cfg = tiny(tmp_path, method="sft", max_steps=1, n_train=2)
    model, tok, peft = train._load_student(cfg)
    tr = SFTTrainer(model=model, args=train.sft_args(cfg), train_dataset=build_dataset(cfg, tokenizer=tok),
                    processing_class=tok, peft_config=peft)
    row = tr.train_dataset[0]
    labels = row["labels"]
    n_prompt = train.prompt_tokens(tok, build_dataset(cfg)[0]["prompt"])
    assert all(x == -100 for x in labels[:n_prompt])                   # no loss on the prompt
    assert all(x != -100 for x in labels[n_prompt:])                   # loss on the whole teacher completion
    assert tok.decode(row["input_ids"][n_prompt:]).startswith("<think>\n")
    batch = tr.data_collator([row])
    assert (batch["labels"][0][:n_prompt] == -100).all() and (batch["labels"][0][n_prompt:] != -100).all()


def test_every_method_runs_one_step_with_same_seed(tmp_path):
    outs = {}
    for m in METHODS:
        outs[m] = train_method(m, tiny(tmp_path, output_dir=str(tmp_path / m), max_steps=1, n_train=4))
        assert global_step(outs[m]) == 1 and (outs[m] / "adapter_config.json").exists()
        assert run_config(outs[m]).method == m and run_config(outs[m]).seed == 0
        rows = read_metrics(outs[m])
        assert rows and "loss" in rows[0]
        assert (outs[m] / "metrics.csv").read_text().splitlines()[0].startswith("step,")
        info = json.loads((outs[m] / "run_info.json").read_text())
        assert [e["event"] for e in info] == ["start", "end"] and info[1]["peak_memory_gb"] > 0
    assert "rewards/step_count_reward/mean" in read_metrics(outs["grpo-steps"])[0]
    assert "rewards/rlkd_structure/mean" in read_metrics(outs["rlkd"])[0]


# ---------------------------------------------------------------- CLI

def _cli(*args, **kw):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([*RLKD, *args], capture_output=True, text=True, env=env, cwd=kw.get("cwd"), timeout=600)


def test_cli_errors_are_one_line(tmp_path):
    # A missing model directory is refused before the trainer's imports (it used to take ~15 CPU-seconds in a
    # fresh process and print the preset's start line first), so it is checked here like the other mistakes.
    for args, msg in [(["train", "--preset", "nope"], "unknown preset 'nope'"),
                      (["train", "--preset", "tiny", "--set", "max_steps"], "--set expects KEY=VALUE"),
                      (["train", "--preset", "tiny", "--set", "bogus=1"], "unknown config key(s): bogus"),
                      (["train", "--config", "/no/such.toml"], "config file not found"),
                      (["train", "--preset", "tiny", "--model", "/no/such/model"], "no such model directory: /no/such/model")]:
        r = _cli(*args, cwd=tmp_path)
        assert r.returncode == 2 and msg in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.startswith("rlkd train: error: ") and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert list(tmp_path.iterdir()) == []          # nothing written (the default output would be runs/rlkd-tiny)


def test_cli_print_config_and_launch():
    r = _cli("train", "--preset", "gpu-8gb", "--method", "grpo-steps", "--max-steps", "3", "--print-config")
    assert r.returncode == 0, r.stderr
    c = json.loads(r.stdout[r.stdout.index("{"):])
    assert (c["method"], c["max_steps"], c["quantization"]) == ("grpo-steps", 3, "4bit")
    r = _cli("train", "--preset", "paper", "--max-steps", "2", "--set", 'judge="lexical"', "--launch", "--num-processes", "8")
    assert r.stdout.startswith("accelerate launch --config_file") and "--num_processes 8" in r.stdout
    assert r.stdout.rstrip().endswith("train --preset paper --max-steps 2 --set 'judge=\"lexical\"'")   # nothing dropped


@pytest.mark.slow
def test_kill_after_checkpoint_then_resume(tmp_path):
    """`rlkd train` is SIGKILLed after checkpoint-3 is complete; `--resume` finishes at the same final step."""
    out = tmp_path / "run"
    args = ["train", "--preset", "tiny", "--output", str(out), "--max-steps", "10", "--set", "save_steps=3",
            "--set", 'judge="lexical"']
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    p = subprocess.Popen([*RLKD, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    ck = out / "checkpoint-3" / "trainer_state.json"
    t0 = time.time()
    while not ck.exists():
        assert p.poll() is None, f"run ended before its first checkpoint: {p.stderr.read()[-2000:]}"
        assert time.time() - t0 < 400, "no checkpoint after 400 s"
        time.sleep(0.05)
    time.sleep(0.2)
    assert p.poll() is None, "run finished before it could be killed"
    p.send_signal(signal.SIGKILL); p.wait()
    assert global_step(out / "checkpoint-3") == 3
    assert not (out / "adapter_model.safetensors").exists()            # the final adapter was never written
    r = _cli(*args, "--resume")
    assert r.returncode == 0, r.stderr[-3000:]
    assert global_step(out) == 10 and last_checkpoint(out).name == "checkpoint-10"
    starts = [e for e in json.loads((out / "run_info.json").read_text()) if e["event"] == "start"]
    assert starts[-1]["global_step"] >= 3                               # resumed, not restarted
    steps = [m["step"] for m in read_metrics(out) if "loss" in m]
    assert steps == list(range(1, 11))                                  # no duplicated or missing step
    model, tok = load_trained(out)                                      # the adapter is intact and loads
    ids = tok("<|im_start|>user\nhi<|im_end|>\n", return_tensors="pt")
    assert model(**ids).logits.shape[-1] == len(tok)
