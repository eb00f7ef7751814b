"""The bot's error hierarchy.

User errors become one short ephemeral line in Slack. Anything else is logged
with an error id that the user sees, so a report can be traced to its log line.
Client modules translate library exceptions into these, so no aiohttp, asyncpg,
redis or kubernetes type leaks into the domain.
"""

from __future__ import annotations

import errno
import re
import secrets
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass


class BotError(Exception):
    """Base of every error the bot raises on purpose."""


@dataclass(frozen=True)
class User:
    """A Slack user a message names (who may confirm, who holds a lock): the chat surface mentions them."""

    id: str


@dataclass(frozen=True)
class Channel:
    """A Slack channel a message names (where a procedure may run): the chat surface links it."""

    id: str


@dataclass(frozen=True)
class Code:
    """A name or command a message quotes: shown as inline code."""

    text: str


Part = str | User | Channel | Code
"""A value a message names: text, or something the surface shows in its own way (see Phrased.parts)."""

KEY = re.compile(r"^[a-z][a-z0-9_]*$")
"""A phrase key: the name of a sentence in templates/phrases.yml."""


@dataclass(frozen=True)
class Said:
    """A phrase of the phrase book (templates/phrases.yml) and the fields it is said with.

    The domain raises these, never sentences: a team rewords an error in the book, and each surface
    renders it its own way (Slack: mrkdwn with mentions; logs and the command line: plain text)."""

    key: str
    fields: Mapping[str, Field]

    def __init__(self, key: str, /, **fields: Field) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "fields", fields)


Field = str | int | float | bool | User | Channel | Code | Said | Sequence["Field"] | None
"""A value a phrase is said with: data, never words. Strings are shown as typed (each surface escapes
them); a User is mentioned, a Channel linked, a Code shown as inline code; a Said is a phrase said
inside another; a list is a list of these."""

PlainRenderer = Callable[[Said], str]
_book: list[PlainRenderer] = []  # the process's phrase book, as plain text (set by bot.templating)


def use_phrase_book(render: PlainRenderer) -> None:
    """Say errors in logs and on the command line with this book (bot.templating installs the packaged
    one when imported; the composition root installs the configured one)."""
    _book[:] = [render]


def plain_field(value: Field) -> str:
    """A scalar field as plain text: users and channels by id, names in backticks."""
    if isinstance(value, User):
        return f"@{value.id}"
    if isinstance(value, Channel):
        return f"#{value.id}"
    if isinstance(value, Code):
        return f"`{value.text}`"
    return "" if value is None else str(value)


def plain(said: Said) -> str:
    """The message as plain text (logs, the command line): users and channels by id, names in backticks."""
    if _book:
        return _book[0](said)
    shown = ", ".join(f"{name}={value!r}" for name, value in said.fields.items())  # no book loaded yet
    return f"{said.key}({shown})"


def _flat(values: Iterable[Field]) -> Iterator[Part]:
    for value in values:
        if isinstance(value, Said):
            yield from _flat(value.fields.values())
        elif isinstance(value, str | User | Channel | Code):
            yield value
        elif isinstance(value, Sequence):
            yield from _flat(value)


class Phrased(BotError):
    """An error said with a phrase of the book: `Phrased("key", field=value, ...)`."""

    def __init__(self, key: str | Said, /, **fields: Field) -> None:
        self.said = key if isinstance(key, Said) else Said(key, **fields)
        super().__init__(self.said.key)

    @property
    def message(self) -> str:
        return plain(self.said)

    @property
    def parts(self) -> tuple[Part, ...]:
        """What the message names and quotes: its fields (and those of phrases said inside it), flattened."""
        return tuple(_flat(self.said.fields.values()))

    def __str__(self) -> str:
        return self.message


def said_of(exc: BaseException) -> Field:
    """What an error says, to be said inside another phrase: its phrase, or its text."""
    return exc.said if isinstance(exc, Phrased) else str(exc)


class UserError(Phrased):
    """The user can fix this: bad arguments, unknown names. Shown as-is, with usage when known.

    Its words are a phrase of the book; the people, channels and procedures it names are fields
    (User, Channel, Code), so the domain never writes chat markup."""

    def __init__(self, key: str | Said, /, *, usage: str | None = None, **fields: Field) -> None:
        super().__init__(key, **fields)
        self.usage = usage


class NothingToChange(UserError):
    """A change request whose dry run changes nothing: said so, with no buttons, and nothing is created."""


class NotFoundError(UserError):
    """A named thing (procedure, service, execution, incident) does not exist."""


class DeniedError(UserError):
    """Policy refused: wrong role, wrong channel, rate limited, same approver."""

    def __init__(self, key: str | Said, /, *, reason: str, **fields: Field) -> None:
        super().__init__(key, usage=None, **fields)
        self.reason = reason


class UnavailableError(BotError):
    """A dependency the bot needs (Postgres, Redis, Kubernetes, Slack) cannot be reached.

    Destructive work fails closed on this; the message names the dependency and why.
    """

    def __init__(self, dependency: str | Said, detail: str | Said) -> None:
        super().__init__()
        # Each as data (a name, a network reason, an API's error code) or as a phrase of the book.
        self.said_dependency, self.said_detail = dependency, detail
        self.dependency = dependency if isinstance(dependency, str) else plain(dependency)
        self.detail = detail if isinstance(detail, str) else plain(detail)

    def __str__(self) -> str:
        return plain(Said("unavailable", dependency=self.said_dependency, detail=self.said_detail))


class TargetError(Phrased):
    """The target system answered with a refusal the user should read (403, 404, conflict, timeout)."""


class ChangedSincePreview(TargetError):
    """A confirmation found that the world changed since its preview in a way that changes the effect."""

    SHOWN = 10  # differences named; the rest are counted

    def __init__(self, differences: Sequence[Said]) -> None:
        more = max(0, len(differences) - self.SHOWN)
        super().__init__("changed_since_preview", differences=list(differences[: self.SHOWN]), more=more)


class ConfigError(BotError):
    """The catalog, a procedure or a template is invalid. Carries every problem, each naming file and key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


def new_error_id() -> str:
    """A short id shown to the user and written beside the traceback in the log."""
    return "E-" + secrets.token_hex(4)


def network_reason(exc: BaseException) -> Said:
    """Why a dependency could not be reached, without its address: a phrase of the book.

    OSError texts name the host and port ("Connect call failed ('10.0.3.7', 5432)"), and client
    libraries copy them into their own messages; users are told which dependency is down, not where it is.
    """
    if isinstance(exc, TimeoutError):
        return Said("network_timed_out")
    if isinstance(exc, socket.gaierror):
        return Said("network_unresolved")
    if isinstance(exc, ConnectionRefusedError):
        return Said("network_refused")
    if isinstance(exc, ConnectionError):
        return Said("network_lost")
    if isinstance(exc, OSError):
        return Said("network_error", code=errno.errorcode.get(exc.errno or 0, "unknown"))
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, OSError):
        return network_reason(cause)
    return Said("network_failure", error=type(exc).__name__)
