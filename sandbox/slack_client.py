"""The user side of the sandbox: what Slack sends to the bot, signed like Slack signs it.

``SlackUser`` builds slash commands, button clicks, view submissions and Events API
deliveries with the same fields and encodings Slack uses (form-encoded commands,
``payload=<json>`` interactions, JSON events), signs them with the v0 scheme and posts
them to the bot's ``/slack/events``. Response URLs and trigger ids come from the
``SlackFake``, so whatever the bot does with them lands in the fake's records.

``Tamper`` makes requests Slack would never send (stale or non-numeric timestamps,
bad or missing signatures) for the verification tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, NotRequired, TypedDict
from urllib.parse import urlencode

import aiohttp

from sandbox import blockkit
from sandbox.slack_fake import Message, SlackFake

JSON = dict[str, Any]

DEFAULT_TEAM_ID = "T0SANDBOX"
DEFAULT_VERIFICATION_TOKEN = "sandbox-verification-token"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 request signature: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlashCommandForm(TypedDict):
    """The form fields of a slash command request, in Slack's order."""

    token: str
    team_id: str
    team_domain: str
    channel_id: str
    channel_name: str
    user_id: str
    user_name: str
    command: str
    text: str
    api_app_id: str
    is_enterprise_install: str
    response_url: str
    trigger_id: str


class ButtonAction(TypedDict):
    action_id: str
    block_id: str
    value: NotRequired[str]
    type: str
    text: JSON
    action_ts: str
    style: NotRequired[str]


@dataclass(frozen=True)
class Button:
    """A button found in a message's blocks."""

    action_id: str
    block_id: str | None
    label: str
    value: str | None
    style: str | None
    element: Mapping[str, Any]


@dataclass(frozen=True)
class Tamper:
    """Ways to make a request Slack would not send. Default: an honest request."""

    timestamp: str | None = None  # override X-Slack-Request-Timestamp (signed with it unless signature given)
    # Or shift the honest timestamp by this many seconds when the request is signed, not when the Tamper is
    # made: a Tamper built at collection time must still be stale or early when a long suite reaches it.
    skew_seconds: int | None = None
    signature: str | None = None  # override X-Slack-Signature
    omit_signature: bool = False
    omit_timestamp: bool = False

    @classmethod
    def stale(cls, seconds: int = 600) -> Tamper:
        return cls(skew_seconds=-seconds)

    @classmethod
    def future(cls, seconds: int = 600) -> Tamper:
        return cls(skew_seconds=seconds)

    @classmethod
    def non_numeric(cls) -> Tamper:
        return cls(timestamp="not-a-number")

    @classmethod
    def wrong_signature(cls) -> Tamper:
        return cls(signature="v0=" + "0" * 64)

    @classmethod
    def unsigned(cls) -> Tamper:
        return cls(omit_signature=True)


@dataclass
class BotReply:
    """The bot's HTTP answer (the ack) and what was sent to get it."""

    status: int
    headers: Mapping[str, str]
    body: str
    request_body: bytes = b""
    response_url: str | None = None
    trigger_id: str | None = None
    payload: JSON = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def find_buttons(message: Message | Mapping[str, Any]) -> list[Button]:
    """Every button in a message (a stored ``Message`` or a message dict with ``blocks``)."""
    blocks = message.blocks if isinstance(message, Message) else message.get("blocks", [])
    found = []
    for block_id, element in blockkit.iter_elements(blocks):
        if element.get("type") != "button":
            continue
        text = element.get("text")
        label = str(text.get("text", "")) if isinstance(text, Mapping) else ""
        value, style = element.get("value"), element.get("style")
        found.append(
            Button(
                action_id=str(element["action_id"]),
                block_id=block_id,
                label=label,
                value=value if isinstance(value, str) else None,
                style=style if isinstance(style, str) else None,
                element=element,
            )
        )
    return found


def find_button(
    message: Message | Mapping[str, Any], *, action_id: str | None = None, label: str | None = None
) -> Button:
    """The one button matching ``action_id`` and/or ``label`` (case-insensitive); LookupError otherwise."""
    matches = [
        b
        for b in find_buttons(message)
        if (action_id is None or b.action_id == action_id) and (label is None or b.label.casefold() == label.casefold())
    ]
    if len(matches) != 1:
        labels = [f"{b.label} ({b.action_id})" for b in find_buttons(message)]
        raise LookupError(f"{len(matches)} buttons match action_id={action_id} label={label}; have {labels}")
    return matches[0]


class SlackUser:
    """Sends what Slack would send to the bot at ``bot_url`` on behalf of workspace users.

    ``async with SlackUser(bot_url, fake, signing_secret) as slack:`` then
    ``await slack.slash_command(text="scale backend 5")``.
    """

    def __init__(
        self,
        bot_url: str,
        fake: SlackFake,
        signing_secret: str,
        *,
        user_id: str = "U0ALICE",
        channel_id: str = "C0OPS",
        verification_token: str = DEFAULT_VERIFICATION_TOKEN,
        timeout: float = 10.0,
    ) -> None:
        self.bot_url = bot_url
        self.fake = fake
        self.signing_secret = signing_secret
        self.user_id = user_id
        self.channel_id = channel_id
        self.verification_token = verification_token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> SlackUser:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ── identity ─────────────────────────────────────────────────────────────

    @property
    def _team_id(self) -> str:
        return self.fake.config.team_id

    def _user(self, user_id: str) -> JSON:
        return {
            "id": user_id,
            "username": self.fake.user_name(user_id),
            "name": self.fake.user_name(user_id),
            "team_id": self._team_id,
        }

    def _common(self, user_id: str, channel_id: str | None) -> JSON:
        out: JSON = {
            "user": self._user(user_id),
            "api_app_id": self.fake.config.app_id,
            "token": self.verification_token,
            "team": {"id": self._team_id, "domain": self.fake.config.team_domain},
            "is_enterprise_install": False,
            "enterprise": None,
        }
        if channel_id is not None:
            out["channel"] = {"id": channel_id, "name": self.fake.channel_name(channel_id)}
        return out

    # ── what Slack sends ─────────────────────────────────────────────────────

    async def slash_command(
        self,
        text: str = "",
        *,
        command: str = "/runbook",
        user_id: str | None = None,
        channel_id: str | None = None,
        team_id: str | None = None,
        tamper: Tamper | None = None,
    ) -> BotReply:
        """A slash command, form-encoded with exactly Slack's fields."""
        user_id = user_id or self.user_id
        channel_id = channel_id or self.channel_id
        response_url = self.fake.new_response_url(channel_id, user_id)
        trigger_id = self.fake.new_trigger_id(user_id)
        form = SlashCommandForm(
            token=self.verification_token,
            team_id=team_id or self._team_id,
            team_domain=self.fake.config.team_domain,
            channel_id=channel_id,
            channel_name=self.fake.channel_name(channel_id),
            user_id=user_id,
            user_name=self.fake.user_name(user_id),
            command=command,
            text=text,
            api_app_id=self.fake.config.app_id,
            is_enterprise_install="false",
            response_url=response_url,
            trigger_id=trigger_id,
        )
        body = urlencode(dict(form)).encode()
        reply = await self._post(body, "application/x-www-form-urlencoded", tamper)
        reply.response_url, reply.trigger_id, reply.payload = response_url, trigger_id, dict(form)
        return reply

    async def block_action(
        self,
        message: Message,
        action_id: str,
        *,
        value: str | None = None,
        user_id: str | None = None,
        channel_id: str | None = None,
        tamper: Tamper | None = None,
    ) -> BotReply:
        """A click on the button ``action_id`` of a stored message, as a ``block_actions`` payload.

        ``value`` defaults to the button's own value; pass one to forge a click.
        """
        user_id = user_id or self.user_id
        channel_id = channel_id or message.channel
        button = find_button(message, action_id=action_id)
        response_url = self.fake.new_response_url(
            channel_id, user_id, message_ts=message.ts, is_ephemeral=message.is_ephemeral
        )
        trigger_id = self.fake.new_trigger_id(user_id)
        action = ButtonAction(
            action_id=button.action_id,
            block_id=button.block_id or "",
            type="button",
            text=dict(button.element.get("text") or {}),
            action_ts=f"{time.time():.6f}",
        )
        chosen = value if value is not None else button.value
        if chosen is not None:
            action["value"] = chosen
        if button.style is not None:
            action["style"] = button.style
        payload: JSON = {
            "type": "block_actions",
            **self._common(user_id, channel_id),
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": channel_id,
                "is_ephemeral": message.is_ephemeral,
                **({"thread_ts": message.thread_ts} if message.is_reply else {}),  # as Slack sends for replies
            },
            "trigger_id": trigger_id,
            "response_url": response_url,
            "actions": [dict(action)],
            "state": {"values": {}},
        }
        # Slack leaves the message out of clicks on ephemeral messages (only the bot saw it).
        if not message.is_ephemeral:
            payload["message"] = message.payload()
        reply = await self._post_payload(payload, tamper)
        reply.response_url, reply.trigger_id = response_url, trigger_id
        return reply

    async def click(
        self, message: Message, label: str, *, user_id: str | None = None, tamper: Tamper | None = None
    ) -> BotReply:
        """Click the button whose label is ``label``."""
        button = find_button(message, label=label)
        return await self.block_action(message, button.action_id, user_id=user_id, tamper=tamper)

    async def view_submission(
        self,
        view: Mapping[str, Any],
        values: Mapping[str, Mapping[str, Any]],
        *,
        user_id: str | None = None,
        tamper: Tamper | None = None,
    ) -> BotReply:
        """Submit a modal (the view as views.open returned it) with ``values[block_id][action_id]``.

        A plain string value becomes ``{"type": <element type>, "value": s}``; a dict is sent as is
        (for selects, pass ``{"type": "static_select", "selected_option": {...}}``).
        """
        user_id = user_id or self.user_id
        types = {
            (bid or "", str(el["action_id"])): str(el.get("type", "plain_text_input"))
            for bid, el in blockkit.iter_elements(view.get("blocks", []))
        }
        state: dict[str, JSON] = {}
        for block_id, by_action in values.items():
            for action_id, val in by_action.items():
                kind = types.get((block_id, action_id), "plain_text_input")
                state.setdefault(block_id, {})[action_id] = (
                    {"type": kind, "value": val} if isinstance(val, str) else dict(val)
                )
        payload: JSON = {
            "type": "view_submission",
            **self._common(user_id, None),
            "trigger_id": self.fake.new_trigger_id(user_id),
            "view": {**view, "state": {"values": state}},
            "response_urls": [],
        }
        return await self._post_payload(payload, tamper)

    async def event_callback(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        tamper: Tamper | None = None,
    ) -> BotReply:
        """An Events API delivery; pass retry_num/retry_reason to replay it as Slack's retry does."""
        now = int(time.time())
        envelope: JSON = {
            "token": self.verification_token,
            "team_id": self._team_id,
            "api_app_id": self.fake.config.app_id,
            "event": {"event_ts": f"{now}.000100", **event},
            "type": "event_callback",
            "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
            "event_time": now,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self._team_id,
                    "user_id": self.fake.config.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        reply = await self._post(json.dumps(envelope).encode(), "application/json", tamper, headers)
        reply.payload = envelope
        return reply

    async def url_verification(self, challenge: str = "sandbox-challenge") -> BotReply:
        body = {"token": self.verification_token, "challenge": challenge, "type": "url_verification"}
        return await self._post(json.dumps(body).encode(), "application/json", None)

    # ── transport ────────────────────────────────────────────────────────────

    async def _post_payload(self, payload: JSON, tamper: Tamper | None) -> BotReply:
        # Interactions arrive form-encoded with the JSON in one field named payload.
        body = urlencode({"payload": json.dumps(payload)}).encode()
        reply = await self._post(body, "application/x-www-form-urlencoded", tamper)
        reply.payload = payload
        return reply

    def signed_headers(self, body: bytes, tamper: Tamper | None = None) -> dict[str, str]:
        tamper = tamper or Tamper()
        timestamp = tamper.timestamp
        if timestamp is None:
            timestamp = str(int(time.time()) + (tamper.skew_seconds or 0))
        headers: dict[str, str] = {}
        if not tamper.omit_timestamp:
            headers["X-Slack-Request-Timestamp"] = timestamp
        if not tamper.omit_signature:
            headers["X-Slack-Signature"] = tamper.signature or sign(self.signing_secret, timestamp, body)
        return headers

    async def _post(
        self,
        body: bytes,
        content_type: str,
        tamper: Tamper | None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> BotReply:
        if self._session is None:
            raise RuntimeError("use SlackUser as 'async with SlackUser(...) as slack:'")
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **self.signed_headers(body, tamper),
            **(extra_headers or {}),
        }
        async with self._session.post(self.bot_url, data=body, headers=headers) as resp:
            text = await resp.text()
            return BotReply(resp.status, dict(resp.headers), text, request_body=body)


# The brief's other name for the same thing: it drives the bot from the user's side.
BotDriver = SlackUser
