"""The preformatted details of read actions (kubectl-style tables and lines), laid out in Python and
worded by the phrase book.

A column's header and a line's words are phrases of the book (section "Tables and lines of read
actions" of templates/phrases.yml); names, states and figures are data. Details are plain text in a
code block, kept as they were said in the execution record and attached whole when long, so they are
said with the process's book (`errors.plain`: the configured one, a team's rewording included), as a
result's summary is when it is recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot import errors


def said(phrase: errors.Said) -> str:
    """A line's words, as plain text in the process's phrase book."""
    return errors.plain(phrase)


@dataclass(frozen=True)
class Column:
    """A table's column: its header (a phrase, `column_pod`) and the width its cells are padded to, as
    kubectl pads them (the last column is not padded)."""

    header: errors.Said
    width: int = 0


def table(columns: Sequence[Column], rows: Iterable[Sequence[object]]) -> list[str]:
    """The header line in the book's words, then a line per row."""
    widths = [c.width for c in columns]
    return [_line([said(c.header) for c in columns], widths), *(_line([str(v) for v in row], widths) for row in rows)]


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    padded = [f"{cell:<{width}}" for cell, width in zip(cells[:-1], widths[:-1], strict=True)]
    return " ".join([*padded, cells[-1]])
