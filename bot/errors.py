"""The bot's error hierarchy.

User errors become one short ephemeral line in Slack. Anything else is logged
with an error id that the user sees, so a report can be traced to its log line.
Client modules translate library exceptions into these, so no aiohttp, asyncpg,
redis or kubernetes type leaks into the domain.
"""

from __future__ import annotations

import errno
import secrets
import socket
from collections.abc import Sequence
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
"""A piece of a message: plain sentence text, or something the surface shows in its own way."""


def plain(parts: Sequence[Part]) -> str:
    """The message as plain text (logs, the command line): users and channels by id, names in backticks."""
    shown: list[str] = []
    for part in parts:
        if isinstance(part, User):
            shown.append(f"@{part.id}")
        elif isinstance(part, Channel):
            shown.append(f"#{part.id}")
        elif isinstance(part, Code):
            shown.append(f"`{part.text}`")
        else:
            shown.append(part)
    return "".join(shown)


class UserError(BotError):
    """The user can fix this: bad arguments, unknown names. Shown as-is, with usage when known.

    A message that names people, channels or procedures is given as parts, so the domain never
    writes chat markup: the Slack layer turns a User into a mention, a Channel into a link."""

    def __init__(self, message: str | Sequence[Part], *, usage: str | None = None) -> None:
        self.parts: tuple[Part, ...] = (message,) if isinstance(message, str) else tuple(message)
        self.message = plain(self.parts)
        super().__init__(self.message)
        self.usage = usage


class NothingToChange(UserError):
    """A change request whose dry run changes nothing: said so, with no buttons, and nothing is created."""


class NotFoundError(UserError):
    """A named thing (procedure, service, execution, incident) does not exist."""


class DeniedError(UserError):
    """Policy refused: wrong role, wrong channel, rate limited, same approver."""

    def __init__(self, message: str | Sequence[Part], *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class UnavailableError(BotError):
    """A dependency the bot needs (Postgres, Redis, Kubernetes, Slack) cannot be reached.

    Destructive work fails closed on this; the message names the dependency and why.
    """

    def __init__(self, dependency: str, detail: str) -> None:
        super().__init__(f"{dependency} is unavailable: {detail}")
        self.dependency = dependency
        self.detail = detail


class TargetError(BotError):
    """The target system answered with a refusal the user should read (403, 404, conflict, timeout)."""


class ChangedSincePreview(TargetError):
    """A confirmation found that the world changed since its preview in a way that changes the effect."""

    def __init__(self, differences: Sequence[str]) -> None:
        shown = "; ".join(differences[:10]) + (f"; and {len(differences) - 10} more" if len(differences) > 10 else "")
        super().__init__(
            f"changed since the preview: {shown}. Nothing was changed; run the command again for a new preview"
        )


class ConfigError(BotError):
    """The catalog, a procedure or a template is invalid. Carries every problem, each naming file and key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


def new_error_id() -> str:
    """A short id shown to the user and written beside the traceback in the log."""
    return "E-" + secrets.token_hex(4)


def network_reason(exc: BaseException) -> str:
    """Why a dependency could not be reached, without its address.

    OSError texts name the host and port ("Connect call failed ('10.0.3.7', 5432)"), and client
    libraries copy them into their own messages; users are told which dependency is down, not where it is.
    """
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return "its host name does not resolve"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionError):
        return "connection lost"
    if isinstance(exc, OSError):
        return f"network error ({errno.errorcode.get(exc.errno or 0, 'unknown')})"
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, OSError):
        return network_reason(cause)
    return type(exc).__name__
