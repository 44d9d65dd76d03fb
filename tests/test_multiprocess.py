"""Issue 15, scale-out: the launcher configs checked by accelerate's own validation, the cross-process helpers on a
real 2-process gloo group, and (slow) a 2-process GRPO run under `accelerate launch`, launched with the exact command
`rlkd train --launch` prints: one set of metrics, completions and checkpoints, then a resume across processes."""
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from rlkd_nb.train import TrainConfig, accelerate_config_path, global_step, presets_dir, same_config_everywhere, on_main
from rlkd_nb.logs import read_metrics

ROOT = Path(__file__).resolve().parent.parent
RLKD = [sys.executable, "-m", "rlkd_nb.cli"]


# ---- launcher configs, through the libraries' own validation ----------------------------------------------------

def _launch_args(name: str):
    "The arguments `accelerate launch --config_file <preset>` ends up with (accelerate's parser and validation)."
    from accelerate.commands.launch import launch_command_parser, _validate_launch_command
    args = launch_command_parser().parse_args(["--config_file", str(accelerate_config_path(name)), "--num_processes", "2",
                                               "-m", "rlkd_nb.cli", "train"])
    return _validate_launch_command(args)[0]


def test_accelerate_configs_validate():
    names = sorted(p.stem.removeprefix("accelerate_") for p in presets_dir().glob("accelerate_*.yaml"))
    assert names == ["fsdp", "multi_gpu", "zero2", "zero3"]
    kinds = {n: (_launch_args(n).multi_gpu, _launch_args(n).use_deepspeed, _launch_args(n).use_fsdp) for n in names}
    assert kinds == {"multi_gpu": (True, False, False), "zero2": (False, True, False), "zero3": (False, True, False),
                     "fsdp": (False, False, True)}


def test_fsdp_config_builds_accelerates_plugin():
    from accelerate.utils import FullyShardedDataParallelPlugin
    from accelerate.utils.launch import prepare_multi_gpu_env
    env = prepare_multi_gpu_env(_launch_args("fsdp"))             # what `accelerate launch` hands the processes
    with mock.patch.dict(os.environ, env):
        plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 2 and plugin.reshard_after_forward is True
    assert plugin.state_dict_type.name == "SHARDED_STATE_DICT" and plugin.cpu_ram_efficient_loading


@pytest.mark.parametrize("stage", [2, 3])
def test_deepspeed_configs_build_accelerates_plugin(stage):
    from accelerate.utils import DeepSpeedPlugin
    from accelerate.utils.deepspeed import HfDeepSpeedConfig
    a = _launch_args(f"zero{stage}")
    assert int(a.zero_stage) == stage and a.offload_optimizer_device == "none"
    plugin = DeepSpeedPlugin(hf_ds_config=str(presets_dir() / f"deepspeed_zero{stage}.json"))
    assert plugin.zero_stage == stage
    hf = HfDeepSpeedConfig(str(presets_dir() / f"deepspeed_zero{stage}.json"))
    assert hf.is_zero3() == (stage == 3) and not hf.is_offload()
    assert hf.get_value("train_micro_batch_size_per_gpu") == "auto"        # the Trainer fills batch sizes in


@pytest.mark.parametrize("stage", [2, 3])
def test_deepspeed_json_passes_deepspeeds_own_validation(stage):
    ds = pytest.importorskip("deepspeed", reason="deepspeed is a GPU-side extra; its pydantic config check runs where it is installed")
    from deepspeed.runtime.zero.config import DeepSpeedZeroConfig
    d = json.loads((presets_dir() / f"deepspeed_zero{stage}.json").read_text())
    zero = {k: (500_000_000 if v == "auto" else v) for k, v in d["zero_optimization"].items()}
    assert DeepSpeedZeroConfig(**zero).stage == stage


DS_TOP = {"bf16", "fp16", "zero_optimization", "gradient_accumulation_steps", "gradient_clipping", "train_batch_size",
          "train_micro_batch_size_per_gpu", "steps_per_print", "wall_clock_breakdown", "optimizer", "scheduler"}
DS_ZERO = {"stage", "allgather_partitions", "allgather_bucket_size", "overlap_comm", "reduce_scatter", "reduce_bucket_size",
           "contiguous_gradients", "offload_optimizer", "offload_param", "sub_group_size", "stage3_prefetch_bucket_size",
           "stage3_param_persistence_threshold", "stage3_max_live_parameters", "stage3_max_reuse_distance",
           "stage3_gather_16bit_weights_on_model_save"}


@pytest.mark.parametrize("stage", [2, 3])
def test_deepspeed_json_keys_are_known(stage):
    "Without deepspeed installed (CPU CI), a misspelt key would go unnoticed: every key is one DeepSpeed reads, and ZeRO-2 has no ZeRO-3 knob."
    d = json.loads((presets_dir() / f"deepspeed_zero{stage}.json").read_text())
    assert set(d) <= DS_TOP and set(d["zero_optimization"]) <= DS_ZERO, (set(d) - DS_TOP, set(d["zero_optimization"]) - DS_ZERO)
    assert (stage == 3) == any(k.startswith("stage3_") for k in d["zero_optimization"])


# ---- the cross-process helpers on a real 2-process group ---------------------------------------------------------

def _worker(rank, world, port, q):
    import torch.distributed as dist
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    class Args: world_size, process_index = world, rank
    out = {}
    for name, steps in (("same", 4), ("other", 4 + rank)):              # rank 1 given other settings the second time
        try: same_config_everywhere(TrainConfig.load("tiny", max_steps=steps), Args); out[name] = "ok"
        except ValueError as e: out[name] = str(e)
    def fail(): raise FileExistsError("refused on the main process")
    try: on_main(fail, Args); out["main"] = "ran on"
    except FileExistsError as e: out["main"] = str(e)
    out["value"] = on_main(lambda: {"mode": "new", "rank": rank}, Args)
    q.put((rank, out))
    dist.destroy_process_group()


def test_processes_agree_or_all_stop():
    import multiprocessing as mp, socket
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    ps = [ctx.Process(target=_worker, args=(r, 2, port, q)) for r in range(2)]
    for p in ps: p.start()
    res = dict(q.get(timeout=300) for _ in ps)
    for p in ps: p.join(60)
    for r in (0, 1):
        assert res[r]["same"] == "ok"
        assert "process 1 was given other settings than process 0 (max_steps)" in res[r]["other"]   # every rank stops
        assert res[r]["main"] == "refused on the main process"                        # the main's error reaches all
        assert res[r]["value"] == {"mode": "new", "rank": 0}                          # the main's decision reaches all


# ---- a 2-process GRPO run with the real RLKDReward ----------------------------------------------------------------

def _cli(*args, env=None):
    return subprocess.run([*RLKD, *args], capture_output=True, text=True, timeout=900, cwd=ROOT,
                          env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})})


def _launch(tmp_path, preset, *train_args, lock):
    "Print the launch command with `rlkd train --launch`, then run exactly that command."
    r = _cli("train", "--preset", preset, *train_args, "--launch", "--num-processes", "2")
    assert r.returncode == 0, r.stderr
    cmd = shlex.split(r.stdout.strip())
    assert cmd[cmd.index("train") + 1:] == ["--preset", preset, *train_args]            # exactly what was asked for
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with lock("accelerate-port-29500"):     # accelerate's default main_process_port: one launch at a time per test run
        return subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=tmp_path, env=env)


def _preset_args(preset, tmp_path):
    "Extra settings per preset: the nano world's student warm-started for 3 steps (its full warm start takes minutes)."
    if preset != "nano": return [], 4
    from rlkd_nb.nano import build_student
    student = build_student(steps=3, dest=tmp_path / "student")
    return ["--set", f"model={student}", "--set", "per_device_train_batch_size=8", "--set", "max_completion_length=24"], 8


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["tiny", "nano"])
def test_two_process_grpo_run_writes_once_and_resumes(tmp_path, preset, run_lock):
    out = tmp_path / "run"
    extra, per_rank = _preset_args(preset, tmp_path)
    args = ["--max-steps", "2", "--output", str(out), "--set", "save_steps=1", "--set", "log_completions=true", *extra]
    r = _launch(tmp_path, preset, *args, lock=run_lock)
    assert r.returncode == 0, r.stderr[-3000:]
    assert [l for l in r.stdout.splitlines() if l.strip() == str(out)] == [str(out)]   # one process reports
    rows = [m for m in read_metrics(out) if "loss" in m]
    assert [m["step"] for m in rows] == [1, 2]                               # one metrics file, no duplicate lines
    assert all("rewards/rlkd_structure/mean" in m for m in rows)              # the real RLKD reward ran
    events = json.loads((out / "run_info.json").read_text())
    assert [e["event"] for e in events] == ["start", "end"]
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2"]
    assert sorted(p.name for p in (out / "completions").iterdir()) == ["completions_00001.parquet", "completions_00002.parquet"]
    import pandas as pd
    assert len(pd.read_parquet(out / "completions" / "completions_00002.parquet")) == 2 * per_rank   # both ranks' rollouts, gathered
    assert json.loads((out / "rlkd_config.json").read_text())["max_steps"] == 2
    assert not [p for p in out.rglob("*.tmp")]

    r = _launch(tmp_path, preset, "--max-steps", "3", "--output", str(out), "--resume", "--allow-changes", *extra, lock=run_lock)
    assert r.returncode == 0, r.stderr[-3000:]
    assert global_step(out) == 3
    assert [m["step"] for m in read_metrics(out) if "loss" in m] == [1, 2, 3]
    events = json.loads((out / "run_info.json").read_text())
    assert [e["event"] for e in events] == ["start", "end", "config_change", "start", "end"]
    assert events[3]["global_step"] == 2                                    # resumed across processes, not restarted
