"""The same config and seed give the same results: two CLI smoke runs into different directories."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def normalized(run_dir: Path, rel: str) -> str:
    """A run file's text with the run's own directory replaced, so two runs' files are comparable."""
    return (run_dir / rel).read_text().replace(str(run_dir), "<run>")


def test_two_runs_give_identical_results(smoke_cli_run, smoke_cmd, tmp_path):
    other = tmp_path / "run"
    subprocess.run(smoke_cmd(other), cwd=ROOT, check=True, capture_output=True, timeout=600)
    assert normalized(other, "results.json") == normalized(smoke_cli_run, "results.json")
    samples = sorted(p.name for p in (smoke_cli_run / "samples").glob("*.jsonl"))
    assert samples and samples == sorted(p.name for p in (other / "samples").glob("*.jsonl"))
    for name in samples:
        assert (other / "samples" / name).read_bytes() == (smoke_cli_run / "samples" / name).read_bytes(), name
    model = "models/backdoored/model/model.safetensors"
    assert (other / model).read_bytes() == (smoke_cli_run / model).read_bytes()
