"""The README's table of the seed runbooks' diagnosis lines and the chat commands that answer them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.settings import PROJECT_ROOT

SECTION = "### The runbooks' diagnosis lines in chat"
NO_COMMAND = "no command: "
_CELL_SEPARATOR = re.compile(r"(?<!\\)\|")  # `\|` inside a cell is a pipe of the command, not a new cell
_COMMAND = re.compile(r"`(/runbook [^`]+)`")


@dataclass(frozen=True)
class Row:
    line: str  # `runbook:line` references and the runbook's own text
    answer: str  # the right column as written

    @property
    def commands(self) -> list[str]:
        """Every `/runbook …` command the row names, as typed after `/runbook ` (pipes unescaped)."""
        return [found.removeprefix("/runbook ").replace("\\|", "|") for found in _COMMAND.findall(self.answer)]


def diagnosis_rows() -> list[Row]:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ")]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| ") or line.startswith("| runbook line"):
            continue
        cells = [cell.strip() for cell in _CELL_SEPARATOR.split(line)[1:-1]]
        assert len(cells) == 2, f"a row of two cells, not {line!r}"
        rows.append(Row(*cells))
    return rows


def diagnosis_commands() -> list[str]:
    """Each command of the table once, in table order."""
    return list(dict.fromkeys(command for row in diagnosis_rows() for command in row.commands))
