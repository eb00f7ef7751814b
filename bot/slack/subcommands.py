"""The words `/runbook` answers itself rather than as a procedure (`list`, `history`, `health`, `guide`).

Each surface adds its own, as a Bolt listener registers with `app.command(...)`: the composition
root builds one `Subcommands` and hands it to the `/runbook` surface and to each surface that answers
a word of it, so `/runbook` routes a word without knowing what answers it, and `/runbook help` lists
what was added.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

from bot.runbooks.engine import Invocation
from bot.runbooks.loader import RESERVED_NAMES

# After the ack, with the words after the subcommand's name; its errors are the /runbook listener's to answer.
Answer = Callable[[Invocation, Sequence[str]], Awaitable[None]]


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str  # `/runbook health [service]`, listed by `/runbook help`
    answer: Answer


class Subcommands:
    """Name → answer, filled by the surfaces at start-up, read by the `/runbook` listener and its help."""

    def __init__(self) -> None:
        self._by_name: dict[str, Subcommand] = {}

    def add(self, name: str, usage: str, answer: Answer) -> None:
        # A procedure file may not take a reserved name (bot/runbooks/loader.py), so no procedure is shadowed;
        # `help` is answered in the ack path, before any subcommand.
        if name not in RESERVED_NAMES - {"help"}:
            raise ValueError(f"/runbook {name} is not a reserved subcommand name (RESERVED_NAMES)")
        if name in self._by_name:
            raise ValueError(f"/runbook {name} is answered twice")
        self._by_name[name] = Subcommand(name, usage, answer)

    def get(self, name: str) -> Subcommand | None:
        return self._by_name.get(name)

    def __iter__(self) -> Iterator[Subcommand]:
        """In the order they were added: the order `/runbook help` lists them in."""
        return iter(list(self._by_name.values()))
