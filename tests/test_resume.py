"""Kill-and-resume: a SIGKILLed run, rerun with the same command, ends exactly where an uninterrupted one does;
an evaluation cut off mid-file resumes from the samples already written."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def kill_at_first_checkpoint(cmd: list[str], run_dir: Path) -> int:
    """Start ``cmd``; SIGKILL its process group once backdoor training has saved a checkpoint."""
    ckpts = run_dir / "models" / "backdoored" / "checkpoints"
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if any((c / "trainer_state.json").exists() for c in ckpts.glob("checkpoint-*")):
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    else:
        proc.kill()
    return proc.wait()


def comparable(res: dict) -> dict:
    """What must match between runs: every eval entry and each training log's steps and losses."""
    return {"evals": res["evals"],
            "training": {k: (v.get("steps"), v.get("loss")) for k, v in res["training"].items()}}


def test_killed_run_resumes_to_the_same_results(smoke_cli_run, smoke_cmd, tmp_path):
    run_dir = tmp_path / "run"
    cmd = smoke_cmd(run_dir, "--set", "train.keep_checkpoints=true")
    assert kill_at_first_checkpoint(cmd, run_dir) == -signal.SIGKILL
    assert json.loads((run_dir / "stages" / "backdoor.json").read_text())["status"] == "running"
    assert not (run_dir / "models" / "backdoored" / "model").exists()

    done = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True, timeout=600)
    assert "[backdoor] resuming an interrupted run" in done.stdout
    ref = json.loads((smoke_cli_run / "results.json").read_text())
    res = json.loads((run_dir / "results.json").read_text())
    assert comparable(res) == comparable(ref)
    assert res["training"]["backdoored"]["steps"] == 18  # 48 rows / batch 8 x 3 epochs
    model = "models/backdoored/model/model.safetensors"
    assert (run_dir / model).read_bytes() == (smoke_cli_run / model).read_bytes()
    # keep_checkpoints: the last save_total_limit (2) checkpoints stay
    kept = sorted(p.name for p in (run_dir / "models" / "backdoored" / "checkpoints").glob("checkpoint-*"))
    assert kept == ["checkpoint-16", "checkpoint-18"]

    # Evaluation resume: cut the samples mid-file with a torn last line and mark the stage interrupted.
    samples = run_dir / "samples" / "backdoored.jsonl"
    lines = samples.read_text().splitlines(keepends=True)
    cut = len(lines) // 2
    samples.write_text("".join(lines[:cut]) + lines[cut][: len(lines[cut]) // 2])
    marker = run_dir / "stages" / "eval.json"
    marker.write_text(json.dumps({"key": json.loads(marker.read_text())["key"], "status": "running"}))
    done = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True, timeout=600)
    assert "[eval] resuming an interrupted run" in done.stdout
    assert json.loads(marker.read_text())["status"] == "done"
    got = samples.read_text().splitlines()
    want = (smoke_cli_run / "samples" / "backdoored.jsonl").read_text().splitlines()
    assert got[:cut] == want[:cut]  # the rows kept are untouched; the torn one is regenerated
    # The regenerated rows form other batches, and bf16 greedy text can move with batch composition
    # (docs/code_backdoor.md): every row is there once, in order, with the same verdict.
    def without_text(lines):
        return [{k: v for k, v in json.loads(x).items() if k != "output"} for x in lines]

    assert without_text(got) == without_text(want)
    assert comparable(json.loads((run_dir / "results.json").read_text())) == comparable(ref)
