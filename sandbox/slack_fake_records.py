"""What the Slack fake knows and records: seed data, calls, messages, views, files, faults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

JSON = dict[str, Any]
_FALSY: Final = frozenset({"", "0", "false", "False", "no"})


@dataclass(frozen=True)
class FakeUser:
    id: str
    name: str
    real_name: str
    tz: str = "Europe/Berlin"
    is_bot: bool = False


@dataclass(frozen=True)
class FakeUsergroup:
    id: str
    handle: str
    users: tuple[str, ...]
    name: str = ""


DEMO_USERS: Final = (
    FakeUser("U0ALICE", "alice", "Alice Example"),
    FakeUser("U0BOB", "bob", "Bob Example"),
    FakeUser("U0CAROL", "carol", "Carol Example"),
)
# Handles match the groups named in chatops.yml's roles.
DEMO_USERGROUPS: Final = (
    FakeUsergroup("S0ENGINEERING", "engineering", ("U0ALICE", "U0BOB", "U0CAROL"), "Engineering"),
    FakeUsergroup("S0SREONCALL", "sre-oncall", ("U0ALICE",), "SRE on call"),
    FakeUsergroup("S0SRELEADS", "sre-leads", ("U0BOB",), "SRE leads"),
    FakeUsergroup("S0INCIDENTCMD", "incident-commanders", ("U0ALICE",), "Incident commanders"),
)
DEMO_CHANNELS: Final[Mapping[str, str]] = {
    "C0OPS": "ops",
    "C0INCIDENTS": "incidents",
    "C0HEALTH": "health",
    "C0ALERTS": "alerts",
    "C0GENERAL": "general",
}


@dataclass(frozen=True)
class FakeConfig:
    """What the fake workspace looks like; defaults are the demo workspace of the example catalog."""

    bot_token: str = "xoxb-sandbox-token"
    app_token: str = "xapp-sandbox-app-token"  # Socket Mode's app-level token
    team_id: str = "T0SANDBOX"
    team_domain: str = "sandbox"
    bot_user_id: str = "U0RUNBOOKBOT"
    bot_id: str = "B0RUNBOOKBOT"
    app_id: str = "A0RUNBOOKBOT"
    users: tuple[FakeUser, ...] = DEMO_USERS
    usergroups: tuple[FakeUsergroup, ...] = DEMO_USERGROUPS
    channels: Mapping[str, str] = field(default_factory=lambda: dict(DEMO_CHANNELS))
    # When False, posting to a channel id the fake does not know creates it, so tests
    # can use throwaway channels; conversations.info still answers channel_not_found.
    strict_channels: bool = False
    response_url_max_uses: int = 5
    response_url_ttl: float = 30 * 60
    trigger_ttl: float = 3.0
    # Deterministic ts values ("1700000000.000100", "…000200", …) instead of wall time.
    ts_start: float | None = None


@dataclass
class ApiCall:
    """One request the fake received: the Web API method (or response_url/upload) and its arguments."""

    method: str
    params: JSON
    at: float  # time.monotonic() when received
    status: int = 0  # HTTP status answered; 0 = no answer (dropped or still running)
    response: JSON | None = None
    fault: str | None = None  # the injected fault, if any ("429", "500", "drop", "delay 1.0")

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response and self.response.get("ok"))


@dataclass
class MessageVersion:
    text: str
    blocks: list[JSON]
    via: str  # chat.postMessage, chat.update, chat.postEphemeral, response_url
    at: float  # time.time()


@dataclass
class Message:
    """A message as the channel shows it now, plus every earlier version."""

    channel: str
    ts: str
    text: str
    blocks: list[JSON]
    user: str
    bot_id: str
    team: str
    via: str
    thread_ts: str | None = None
    ephemeral_to: str | None = None  # user id for ephemeral messages, else None
    deleted: bool = False
    files: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)  # ts of thread replies (on the parent)
    history: list[MessageVersion] = field(default_factory=list)  # every version, oldest first

    @property
    def is_ephemeral(self) -> bool:
        return self.ephemeral_to is not None

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def payload(self) -> JSON:
        """The message object Slack puts in API answers and in block_actions payloads."""
        out: JSON = {
            "type": "message",
            "user": self.user,
            "bot_id": self.bot_id,
            "team": self.team,
            "text": self.text,
            "ts": self.ts,
        }
        if self.blocks:
            out["blocks"] = self.blocks
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
        if self.replies:
            out["reply_count"] = len(self.replies)
            out["latest_reply"] = self.replies[-1]
        if len(self.history) > 1:
            out["edited"] = {"user": self.user, "ts": self.ts}
        if self.files:
            out["files"] = [{"id": f} for f in self.files]
        return out


@dataclass
class StoredView:
    id: str
    user: str
    view: JSON  # the full view object as views.* returned it, current version
    history: list[JSON] = field(default_factory=list)  # every version, oldest first
    closed: bool = False


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str | None = None
    channel_id: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None
    completed: bool = False


@dataclass
class ResponseUrl:
    id: str
    channel: str
    user: str
    created: float
    message_ts: str | None = None  # the message an interaction came from (what replace_original replaces)
    is_ephemeral: bool = False
    uses: int = 0


@dataclass
class Trigger:
    user: str
    created: float
    used: bool = False


@dataclass
class Fault:
    method: str
    kind: str  # "status", "drop" or "delay"
    remaining: int | None  # None = until cleared
    status: int = 200
    retry_after: float = 1
    error: str | None = None
    seconds: float = 0.0
    body: str | None = None  # a raw, non-JSON body (a proxy's error page) instead of Slack's JSON

    def matches(self, method: str) -> bool:
        return self.method in (method, "*") and (self.remaining is None or self.remaining > 0)

    def consume(self) -> None:
        if self.remaining is not None:
            self.remaining -= 1


class ApiError(Exception):
    """An ``ok:false`` answer; Slack sends these with HTTP 200 (response_url uses 4xx)."""

    def __init__(self, error: str, *, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra


class Dropped(Exception):
    """The injected fault closed the connection; nothing is to be written."""


def truthy(value: object) -> bool:
    if isinstance(value, str):
        return value not in _FALSY
    return bool(value)


def as_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
