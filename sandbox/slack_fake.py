"""A local Slack: the Web API surface runbook-bot uses, served over real HTTP on loopback.

Tests, benches and ``runbook-bot shell`` point the bot's ``AsyncWebClient`` at
``fake.api_url`` (``SLACK_API_URL``) and talk to it exactly as to Slack: form or JSON
bodies, bearer tokens, ``ok:false`` errors with HTTP 200, 429 with ``Retry-After``.
Everything the bot does is recorded (calls, messages with their update history,
ephemeral messages, views, uploaded files, response_url uses) so a test can assert on
what a user would have seen, and wait for it without sleeping.

Like bolt-python's ``tests/mock_web_api_server``, but stricter: every ``blocks`` and view
is validated the way Slack validates it (see ``blockkit``), and our own contract (no
``link_names``, no ``parse=full``) is enforced, so a test fails where Slack would.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl

from aiohttp import web

from sandbox import blockkit
from sandbox.slack_fake_records import (
    ApiCall,
    ApiError,
    Dropped,
    FakeConfig,
    FakeUser,
    FakeUsergroup,
    Fault,
    Message,
    MessageVersion,
    ResponseUrl,
    StoredView,
    Trigger,
    UploadedFile,
    as_str,
    truthy,
)
from sandbox.socket_mode import SocketModeHub

JSON = dict[str, Any]
T = TypeVar("T")

# Form-encoded Web API calls carry structured arguments as JSON strings (that is how
# slack_sdk and Slack's docs send them); JSON bodies carry them as values.
_JSON_STRING_FIELDS: Final = frozenset({"blocks", "attachments", "view", "files", "metadata"})

RESPONSE_URL_METHOD: Final = "response_url"
UPLOAD_METHOD: Final = "files.upload_url"


def _json_or_none(text: str | None) -> JSON | None:
    """What a call recorded as its answer: the JSON body, or None for an injected non-JSON body."""
    try:
        parsed = json.loads(text or "{}")
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


class SlackFake:
    """The fake Slack server. Use as ``async with SlackFake() as fake:`` or start()/close()."""

    def __init__(
        self,
        config: FakeConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or FakeConfig()
        self._host = host
        self._port = port
        self._clock = clock  # for TTLs (response_url, trigger_id); tests may pass a controllable one
        self._runner: web.AppRunner | None = None
        self._cond = asyncio.Condition()
        self._ids = itertools.count(1)
        self._last_ts_us = 0
        self._ts_counter = itertools.count(1)

        self.users: dict[str, FakeUser] = {u.id: u for u in self.config.users}
        self.usergroups: dict[str, FakeUsergroup] = {g.id: g for g in self.config.usergroups}
        self.channels: dict[str, str] = dict(self.config.channels)

        self.calls: list[ApiCall] = []
        self.violations: list[str] = []  # breaches of our Slack contract (link_names, parse=full, …)
        self.views: dict[str, StoredView] = {}
        self.files: dict[str, UploadedFile] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self._messages: dict[str, dict[str, Message]] = {}
        self._post_times: dict[str, list[float]] = {}
        self._triggers: dict[str, Trigger] = {}
        self._faults: list[Fault] = []

        self._methods: dict[str, Callable[[JSON], Awaitable[JSON]]] = {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
            "conversations.info": self._conversations_info,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "apps.connections.open": self._apps_connections_open,
        }
        self.socket_mode = SocketModeHub()

    # ── lifecycle ────────────────────────────────────────────────────────────

    async def start(self) -> SlackFake:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{rid}", self._handle_response_url)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        app.router.add_get("/socket-mode/{session}", self.socket_mode.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        return self

    async def close(self) -> None:
        await self.socket_mode.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackFake:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def port(self) -> int:
        if self._runner is None:
            raise RuntimeError("SlackFake is not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def api_url(self) -> str:
        """What SLACK_API_URL / AsyncWebClient(base_url=…) should be (trailing slash included)."""
        return f"{self.url}/api/"

    @property
    def token(self) -> str:
        return self.config.bot_token

    # ── things the user side needs ───────────────────────────────────────────

    def new_response_url(
        self, channel: str, user: str, *, message_ts: str | None = None, is_ephemeral: bool = False
    ) -> str:
        """A response_url as Slack puts in a slash command or interaction payload."""
        rid = f"{self.config.team_id}/{next(self._ids)}/{secrets.token_hex(8)}"
        self.response_urls[rid] = ResponseUrl(
            rid, channel, user, self._clock(), message_ts=message_ts, is_ephemeral=is_ephemeral
        )
        return f"{self.url}/response/{rid.replace('/', '-')}"

    def new_trigger_id(self, user: str) -> str:
        """A trigger_id for views.open/push, valid for ``trigger_ttl`` seconds and once."""
        trigger = f"{next(self._ids)}.{secrets.randbelow(10**11)}.{secrets.token_hex(16)}"
        self._triggers[trigger] = Trigger(user, self._clock())
        return trigger

    def user_name(self, user_id: str) -> str:
        user = self.users.get(user_id)
        return user.name if user else user_id.lower()

    def channel_name(self, channel_id: str) -> str:
        return self.channels.get(channel_id, channel_id.lower())

    def set_usergroup_users(self, usergroup_id: str, users: list[str]) -> None:
        group = self.usergroups[usergroup_id]
        self.usergroups[usergroup_id] = FakeUsergroup(group.id, group.handle, tuple(users), group.name)

    # ── queries for tests ────────────────────────────────────────────────────

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def messages(
        self, channel: str, *, include_ephemeral: bool = False, include_deleted: bool = False
    ) -> list[Message]:
        """Every message in the channel (thread replies included), oldest first."""
        return [
            m
            for m in self._messages.get(channel, {}).values()
            if (include_ephemeral or not m.is_ephemeral) and (include_deleted or not m.deleted)
        ]

    def last_message(self, channel: str, *, thread_ts: str | None = None) -> Message | None:
        """The newest visible, non-ephemeral message: top level, or in ``thread_ts``'s thread."""
        for m in reversed(self.messages(channel)):
            if thread_ts is None and not m.is_reply:
                return m
            if thread_ts is not None and m.is_reply and m.thread_ts == thread_ts:
                return m
        return None

    def message(self, channel: str, ts: str) -> Message:
        """The message with this ts (ephemeral and deleted included); KeyError if none."""
        return self._messages[channel][ts]

    def find_message(self, ts: str) -> Message | None:
        for by_ts in self._messages.values():
            if ts in by_ts:
                return by_ts[ts]
        return None

    def update_history(self, channel: str, ts: str) -> list[MessageVersion]:
        """Every version of the message, the original first and the current one last."""
        return list(self.message(channel, ts).history)

    def thread_replies(self, channel: str, thread_ts: str) -> list[Message]:
        return [m for m in self.messages(channel) if m.is_reply and m.thread_ts == thread_ts]

    def ephemeral_messages(self, user: str, channel: str | None = None) -> list[Message]:
        """Ephemeral messages shown to ``user`` (optionally in one channel), oldest first."""
        channels = [channel] if channel is not None else list(self._messages)
        return [
            m
            for ch in channels
            for m in self._messages.get(ch, {}).values()
            if m.ephemeral_to == user and not m.deleted
        ]

    def views_for(self, user: str) -> list[StoredView]:
        return [v for v in self.views.values() if v.user == user]

    def posts_per_second(self, channel: str) -> dict[int, int]:
        """chat.postMessage count per whole second of time.monotonic(), for rate assertions."""
        counts: dict[int, int] = {}
        for at in self._post_times.get(channel, []):
            counts[int(at)] = counts.get(int(at), 0) + 1
        return counts

    def max_posts_in_window(self, channel: str, window: float = 1.0) -> int:
        """The most chat.postMessage calls to ``channel`` inside any sliding ``window`` seconds."""
        times = self._post_times.get(channel, [])
        best, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    # A timeout argument rather than asyncio.timeout() around the call (ASYNC109): every wait in
    # a test must be bounded, and a default here makes that the path of least resistance.
    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 5.0) -> T:  # noqa: ASYNC109
        """Wait until ``predicate()`` is truthy (re-checked after every request) and return its value.

        ``msg = await fake.wait_for(lambda: fake.last_message("C0OPS"))`` gives a ``Message``.
        """
        async with self._cond:
            try:
                async with asyncio.timeout(timeout):
                    result = await self._cond.wait_for(predicate)
                    assert result is not None  # wait_for only returns once the predicate is truthy
                    return result
            except TimeoutError:
                recent = ", ".join(f"{c.method}→{c.status}" for c in self.calls[-10:]) or "none"
                raise TimeoutError(f"condition not met within {timeout}s; last calls: {recent}") from None

    async def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[ApiCall]:  # noqa: ASYNC109
        """Wait until ``method`` has been answered at least ``count`` times."""
        await self.wait_for(lambda: len([c for c in self.calls_to(method) if c.status]) >= count, timeout)
        return self.calls_to(method)

    # ── fault injection ──────────────────────────────────────────────────────

    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: float = 1,
        count: int | None = 1,
        error: str | None = None,
        body: str | None = None,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` ("*" = any; count None = until clear_faults()) with an error.

        429 → ``ratelimited`` with ``Retry-After``; 5xx → that status; 200 with ``error``
        → ``{"ok": false, "error": error}`` (e.g. ``channel_not_found``, ``missing_scope``);
        ``body`` → that text as ``text/plain`` with ``status``, as a proxy in front of Slack answers.
        """
        fault = Fault(method, "status", count, status=status, retry_after=retry_after, error=error, body=body)
        self._faults.append(fault)

    def drop_next(self, method: str, *, count: int = 1) -> None:
        """Close the connection without answering the next ``count`` calls of ``method``."""
        self._faults.append(Fault(method, "drop", count))

    def delay(self, method: str, seconds: float, *, count: int | None = None) -> None:
        """Hold answers to ``method`` for ``seconds`` (``count`` calls, or until clear_faults())."""
        self._faults.append(Fault(method, "delay", count, seconds=seconds))

    def clear_faults(self) -> None:
        self._faults.clear()

    # ── HTTP plumbing ────────────────────────────────────────────────────────

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    async def _apply_faults(self, method: str, call: ApiCall, request: web.Request) -> web.Response | None:
        self._faults = [f for f in self._faults if f.remaining != 0]  # forget the used-up ones
        for fault in [f for f in self._faults if f.kind == "delay" and f.matches(method)]:
            fault.consume()
            call.fault = f"delay {fault.seconds}"
            await asyncio.sleep(fault.seconds)
        for fault in self._faults:
            if fault.kind == "delay" or not fault.matches(method):
                continue
            fault.consume()
            if fault.kind == "drop":
                call.fault = "drop"
                # Abort the socket: the client sees a disconnect, as with a crashed proxy.
                if request.transport is not None:
                    request.transport.abort()
                raise Dropped
            call.fault = str(fault.status)
            if fault.body is not None:
                return web.Response(text=fault.body, status=fault.status, content_type="text/plain")
            if fault.status == 429:
                body: JSON = {"ok": False, "error": "ratelimited"}
                headers = {"Retry-After": str(int(fault.retry_after))}
                return web.json_response(body, status=429, headers=headers)
            body = {"ok": False, "error": fault.error or ("fatal_error" if fault.status >= 500 else "error")}
            return web.json_response(body, status=fault.status)
        return None

    async def _finish(self, call: ApiCall, response: web.Response, body: JSON | None) -> web.Response:
        call.status = response.status
        call.response = body
        await self._notify()
        return response

    async def _read_params(self, request: web.Request) -> JSON:
        # slack_sdk sends some methods' arguments in the query string (params=) even on POST,
        # so the query, a form body and a JSON body are merged, in that order.
        params: JSON = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            raw = await request.read()
            if request.content_type == "application/json":
                try:
                    parsed = json.loads(raw or b"{}")
                except ValueError as exc:
                    raise ApiError("invalid_json") from exc
                if not isinstance(parsed, dict):
                    raise ApiError("invalid_json")
                params.update(parsed)
            elif request.content_type.startswith("multipart/"):
                form = await request.post()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
            else:
                params.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        for key in _JSON_STRING_FIELDS & params.keys():
            if isinstance(params[key], str) and params[key]:
                try:
                    params[key] = json.loads(params[key])
                except ValueError as exc:
                    raise ApiError(f"invalid_{key}") from exc
        return params

    def _check_auth(self, request: web.Request, params: JSON, method: str) -> None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
        token = token or params.pop("token", None)
        if not token:
            raise ApiError("not_authed")
        # Socket Mode connections are opened with the app-level token, everything else with the bot's.
        expected = self.config.app_token if method == "apps.connections.open" else self.config.bot_token
        if token != expected:
            raise ApiError("invalid_auth")

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        call = ApiCall(method, {}, time.monotonic())
        self.calls.append(call)
        try:
            call.params = await self._read_params(request)
            faulted = await self._apply_faults(method, call, request)
            if faulted is not None:
                return await self._finish(call, faulted, _json_or_none(faulted.text))
            self._check_auth(request, call.params, method)
            handler = self._methods.get(method)
            if handler is None:
                raise ApiError("unknown_method")
            body = {"ok": True, **await handler(call.params)}
        except Dropped:
            await self._notify()
            return web.Response()  # never written: the transport is already aborted
        except ApiError as exc:
            body = {"ok": False, "error": exc.error, **exc.extra}
            return await self._finish(call, web.json_response(body, status=exc.status), body)
        return await self._finish(call, web.json_response(body), body)

    # ── ids and storage ──────────────────────────────────────────────────────

    def _next_ts(self) -> str:
        if self.config.ts_start is not None:
            us = int(self.config.ts_start * 1_000_000) + 100 * next(self._ts_counter)
        else:
            # Real wall time like Slack, nudged forward so ts stays unique and increasing.
            us = max(int(time.time() * 1_000_000), self._last_ts_us + 1)
        self._last_ts_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def _resolve_channel(self, value: object, *, creating: bool) -> str:
        channel = as_str(value)
        if channel is None:
            raise ApiError("channel_not_found")
        if channel in self.channels:
            return channel
        by_name = {name: cid for cid, name in self.channels.items()}
        if channel.lstrip("#") in by_name:
            return by_name[channel.lstrip("#")]
        if creating and not self.config.strict_channels:
            self.channels[channel] = channel.lower()
            return channel
        raise ApiError("channel_not_found")

    def _check_contract(self, params: JSON, where: str, *, status: int = 200) -> None:
        """Our contract: user text is data, so never let Slack turn it into mentions or links."""
        problems = []
        if "link_names" in params and truthy(params["link_names"]):
            problems.append(f"{where}: link_names is forbidden (user text must not ping anyone)")
        if params.get("parse") == "full":
            problems.append(f"{where}: parse=full is forbidden (user text must stay literal)")
        if problems:
            self.violations.extend(problems)
            raise ApiError("invalid_arguments", errors=problems, status=status)

    def _content(self, params: JSON, *, status: int = 200, require: bool = True) -> tuple[str, list[JSON]]:
        blocks = params.get("blocks")
        if blocks is not None:
            errors = blockkit.validate_message_blocks(blocks)
            if errors:
                raise ApiError("invalid_blocks", errors=errors, status=status)
        text = params.get("text")
        text = text if isinstance(text, str) else ""
        if require and not text and not blocks:
            raise ApiError("no_text", status=status)
        return text, list(blocks or [])

    def _store(self, message: Message) -> Message:
        message.history.append(MessageVersion(message.text, message.blocks, message.via, time.time()))
        self._messages.setdefault(message.channel, {})[message.ts] = message
        if message.is_reply and message.thread_ts is not None:
            parent = self._messages[message.channel].get(message.thread_ts)
            if parent is not None:
                parent.replies.append(message.ts)
        return message

    def _new_message(
        self,
        channel: str,
        text: str,
        blocks: list[JSON],
        via: str,
        *,
        thread_ts: str | None = None,
        ephemeral_to: str | None = None,
    ) -> Message:
        c = self.config
        return self._store(
            Message(
                channel,
                self._next_ts(),
                text,
                blocks,
                c.bot_user_id,
                c.bot_id,
                c.team_id,
                via,
                thread_ts=thread_ts,
                ephemeral_to=ephemeral_to,
            )
        )

    @staticmethod
    def _revise(message: Message, text: str | None, blocks: list[JSON] | None, via: str) -> None:
        if text is not None:
            message.text = text
        if blocks is not None:
            message.blocks = blocks
        message.via = via
        message.history.append(MessageVersion(message.text, message.blocks, via, time.time()))

    def _thread(self, channel: str, params: JSON) -> str | None:
        thread_ts = as_str(params.get("thread_ts"))
        if thread_ts is not None and thread_ts not in self._messages.get(channel, {}):
            raise ApiError("invalid_thread_ts")
        return thread_ts

    # ── Web API methods ──────────────────────────────────────────────────────

    async def _apps_connections_open(self, params: JSON) -> JSON:
        return {"url": f"ws://{self._host}:{self.port}{self.socket_mode.connection_path()}"}

    async def _api_test(self, params: JSON) -> JSON:
        return {"args": {k: v for k, v in params.items() if k != "token"}}

    async def _auth_test(self, params: JSON) -> JSON:
        c = self.config
        return {
            "url": f"https://{c.team_domain}.slack.com/",
            "team": c.team_domain,
            "user": "runbook-bot",
            "team_id": c.team_id,
            "user_id": c.bot_user_id,
            "bot_id": c.bot_id,
            "is_enterprise_install": False,
        }

    async def _chat_post_message(self, params: JSON) -> JSON:
        channel = self._resolve_channel(params.get("channel"), creating=True)
        self._check_contract(params, "chat.postMessage")
        text, blocks = self._content(params)
        message = self._new_message(channel, text, blocks, "chat.postMessage", thread_ts=self._thread(channel, params))
        self._post_times.setdefault(channel, []).append(time.monotonic())
        return {"channel": channel, "ts": message.ts, "message": message.payload()}

    async def _chat_update(self, params: JSON) -> JSON:
        channel = self._resolve_channel(params.get("channel"), creating=False)
        self._check_contract(params, "chat.update")
        message = self._messages.get(channel, {}).get(str(params.get("ts")))
        if message is None or message.deleted or message.is_ephemeral:
            raise ApiError("message_not_found")
        # Slack keeps the previous blocks when an update leaves them out.
        text, blocks = self._content(params, require=False)
        if not text and not blocks and not message.blocks:
            raise ApiError("no_text")
        self._revise(
            message,
            text if "text" in params else None,
            blocks if "blocks" in params else None,
            "chat.update",
        )
        return {"channel": channel, "ts": message.ts, "text": message.text, "message": message.payload()}

    async def _chat_delete(self, params: JSON) -> JSON:
        channel = self._resolve_channel(params.get("channel"), creating=False)
        message = self._messages.get(channel, {}).get(str(params.get("ts")))
        if message is None or message.deleted or message.is_ephemeral:
            raise ApiError("message_not_found")
        message.deleted = True
        return {"channel": channel, "ts": message.ts}

    async def _chat_post_ephemeral(self, params: JSON) -> JSON:
        channel = self._resolve_channel(params.get("channel"), creating=True)
        user = as_str(params.get("user"))
        if user is None or user not in self.users:
            raise ApiError("user_not_found")
        self._check_contract(params, "chat.postEphemeral")
        text, blocks = self._content(params)
        message = self._new_message(
            channel,
            text,
            blocks,
            "chat.postEphemeral",
            thread_ts=as_str(params.get("thread_ts")),
            ephemeral_to=user,
        )
        return {"message_ts": message.ts}

    def _take_trigger(self, params: JSON) -> str:
        trigger_id = as_str(params.get("trigger_id"))
        trigger = self._triggers.get(trigger_id or "")
        if trigger is None:
            raise ApiError("invalid_trigger_id")
        if trigger.used:
            raise ApiError("trigger_exchanged")
        if self._clock() - trigger.created > self.config.trigger_ttl:
            raise ApiError("expired_trigger_id")
        trigger.used = True
        return trigger.user

    def _full_view(self, view: object, *, view_id: str, root_view_id: str, previous: str | None) -> JSON:
        errors = blockkit.validate_view(view)
        if errors:
            raise ApiError("invalid_arguments", response_metadata={"messages": errors}, errors=errors)
        assert isinstance(view, dict)  # validate_view checked it is an object
        c = self.config
        return {
            "id": view_id,
            "team_id": c.team_id,
            "type": view["type"],
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": view.get("title"),
            "submit": view.get("submit"),
            "close": view.get("close"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": root_view_id,
            "previous_view_id": previous,
            "app_id": c.app_id,
            "app_installed_team_id": c.team_id,
            "bot_id": c.bot_id,
        }

    def _new_view_id(self) -> str:
        return f"V{next(self._ids):010d}"

    async def _views_open(self, params: JSON) -> JSON:
        user = self._take_trigger(params)
        view_id = self._new_view_id()
        full = self._full_view(params.get("view"), view_id=view_id, root_view_id=view_id, previous=None)
        self.views[view_id] = StoredView(view_id, user, full, [full])
        return {"view": full}

    async def _views_push(self, params: JSON) -> JSON:
        user = self._take_trigger(params)
        stack = [v for v in self.views_for(user) if not v.closed and v.view["type"] == "modal"]
        if not stack:
            raise ApiError("not_found")
        top = stack[-1]
        view_id = self._new_view_id()
        full = self._full_view(
            params.get("view"), view_id=view_id, root_view_id=top.view["root_view_id"], previous=top.id
        )
        self.views[view_id] = StoredView(view_id, user, full, [full])
        return {"view": full}

    async def _views_update(self, params: JSON) -> JSON:
        view_id, external_id = as_str(params.get("view_id")), as_str(params.get("external_id"))
        stored = self.views.get(view_id or "") or next(
            (v for v in self.views.values() if external_id and v.view.get("external_id") == external_id), None
        )
        if stored is None:
            raise ApiError("not_found")
        expected = as_str(params.get("hash"))
        if expected is not None and expected != stored.view["hash"]:
            raise ApiError("hash_conflict")
        full = self._full_view(
            params.get("view"),
            view_id=stored.id,
            root_view_id=stored.view["root_view_id"],
            previous=stored.view["previous_view_id"],
        )
        stored.view = full
        stored.history.append(full)
        return {"view": full}

    async def _views_publish(self, params: JSON) -> JSON:
        user = as_str(params.get("user_id"))
        if user is None or user not in self.users:
            raise ApiError("user_not_found")
        home = next((v for v in self.views_for(user) if v.view["type"] == "home"), None)
        view_id = home.id if home else self._new_view_id()
        full = self._full_view(params.get("view"), view_id=view_id, root_view_id=view_id, previous=None)
        if home is None:
            self.views[view_id] = StoredView(view_id, user, full, [full])
        else:
            home.view = full
            home.history.append(full)
        return {"view": full}

    async def _users_info(self, params: JSON) -> JSON:
        user = self.users.get(str(params.get("user")))
        if user is None:
            raise ApiError("user_not_found")
        return {
            "user": {
                "id": user.id,
                "team_id": self.config.team_id,
                "name": user.name,
                "real_name": user.real_name,
                "tz": user.tz,
                "deleted": False,
                "is_bot": user.is_bot,
                "is_admin": False,
                "profile": {
                    "real_name": user.real_name,
                    "display_name": user.name,
                    "email": f"{user.name}@example.com",
                },
            }
        }

    def _usergroup_payload(self, group: FakeUsergroup, *, include_users: bool) -> JSON:
        out: JSON = {
            "id": group.id,
            "team_id": self.config.team_id,
            "is_usergroup": True,
            "name": group.name or group.handle,
            "handle": group.handle,
            "user_count": len(group.users),
            "date_delete": 0,
        }
        if include_users:
            out["users"] = list(group.users)
        return out

    async def _usergroups_list(self, params: JSON) -> JSON:
        include = truthy(params.get("include_users", False))
        return {"usergroups": [self._usergroup_payload(g, include_users=include) for g in self.usergroups.values()]}

    async def _usergroups_users_list(self, params: JSON) -> JSON:
        group = self.usergroups.get(str(params.get("usergroup")))
        if group is None:
            raise ApiError("no_such_subteam")
        return {"users": list(group.users)}

    async def _conversations_info(self, params: JSON) -> JSON:
        channel = self._resolve_channel(params.get("channel"), creating=False)
        return {
            "channel": {
                "id": channel,
                "name": self.channels[channel],
                "is_channel": True,
                "is_private": False,
                "is_archived": False,
                "is_member": True,
                "is_im": False,
                "is_mpim": False,
                "context_team_id": self.config.team_id,
            }
        }

    async def _files_get_upload_url(self, params: JSON) -> JSON:
        filename = as_str(params.get("filename"))
        try:
            length = int(params.get("length", ""))
        except (TypeError, ValueError):
            length = -1
        if filename is None or length < 0:
            raise ApiError("invalid_arguments")
        file_id = f"F{next(self._ids):010d}"
        self.files[file_id] = UploadedFile(file_id, filename, length)
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    async def _files_complete_upload(self, params: JSON) -> JSON:
        items = params.get("files")
        if not isinstance(items, list) or not items:
            raise ApiError("invalid_arguments")
        channel = as_str(params.get("channel_id"))
        if channel is not None:
            channel = self._resolve_channel(channel, creating=True)
        done: list[JSON] = []
        for item in items:
            uploaded = self.files.get(str(item.get("id")) if isinstance(item, dict) else "")
            if uploaded is None or uploaded.content is None:
                raise ApiError("file_not_found")
            if len(uploaded.content) != uploaded.length:
                # Slack completes only what was uploaded in full: `length` from getUploadURLExternal.
                raise ApiError("file_upload_size_mismatch")
            uploaded.title = str(item.get("title") or uploaded.filename)
            uploaded.channel_id = channel
            uploaded.initial_comment = as_str(params.get("initial_comment"))
            uploaded.thread_ts = as_str(params.get("thread_ts"))
            uploaded.completed = True
            done.append(
                {
                    "id": uploaded.id,
                    "name": uploaded.filename,
                    "title": uploaded.title,
                    "size": uploaded.length,
                }
            )
        if channel is not None:
            share = self._new_message(
                channel,
                as_str(params.get("initial_comment")) or "",
                [],
                "files.completeUploadExternal",
                thread_ts=as_str(params.get("thread_ts")),  # shared in the thread, as Slack does
            )
            share.files = [d["id"] for d in done]
        return {"files": done}

    # ── non-API endpoints ────────────────────────────────────────────────────

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["file_id"]
        call = ApiCall(UPLOAD_METHOD, {"file_id": file_id}, time.monotonic())
        self.calls.append(call)
        try:
            faulted = await self._apply_faults(UPLOAD_METHOD, call, request)
        except Dropped:
            await self._notify()
            return web.Response()
        if faulted is not None:
            return await self._finish(call, faulted, None)
        uploaded = self.files.get(file_id)
        if uploaded is None:
            return await self._finish(call, web.Response(status=404, text="file_not_found"), None)
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            part = await reader.next()
            content = await part.read() if isinstance(part, web.BodyPartReader) else b""  # type: ignore[attr-defined]
        else:
            content = await request.read()
        uploaded.content = bytes(content)
        call.params["size"] = len(uploaded.content)
        return await self._finish(call, web.Response(text=f"OK - {len(uploaded.content)}"), None)

    async def _handle_response_url(self, request: web.Request) -> web.StreamResponse:
        rid = request.match_info["rid"].replace("-", "/")
        call = ApiCall(RESPONSE_URL_METHOD, {"response_url_id": rid}, time.monotonic())
        self.calls.append(call)
        try:
            try:
                body = json.loads(await request.read() or b"{}")
            except ValueError as exc:
                raise ApiError("invalid_payload", status=400) from exc
            if not isinstance(body, dict):
                raise ApiError("invalid_payload", status=400)
            call.params.update(body)
            faulted = await self._apply_faults(RESPONSE_URL_METHOD, call, request)
            if faulted is not None:
                return await self._finish(call, faulted, _json_or_none(faulted.text))
            result = self._use_response_url(rid, body)
        except Dropped:
            await self._notify()
            return web.Response()
        except ApiError as exc:
            err = {"ok": False, "error": exc.error, **exc.extra}
            return await self._finish(call, web.json_response(err, status=exc.status), err)
        return await self._finish(call, web.json_response(result), result)

    def _use_response_url(self, rid: str, body: JSON) -> JSON:
        ru = self.response_urls.get(rid)
        if ru is None or self._clock() - ru.created > self.config.response_url_ttl:
            raise ApiError("expired_url", status=404)
        ru.uses += 1  # failed attempts count too: Slack counts requests, not successes
        if ru.uses > self.config.response_url_max_uses:
            raise ApiError("used_url", status=404)
        self._check_contract(body, RESPONSE_URL_METHOD, status=400)
        original = self._messages.get(ru.channel, {}).get(ru.message_ts or "")
        if original is not None and "replace_original" not in body and "delete_original" not in body:
            # Slack's default here has changed over time; the README says to always be explicit.
            self.violations.append("response_url: replace_original not set explicitly")
        if truthy(body.get("delete_original", False)):
            if original is not None:
                original.deleted = True
            return {"ok": True}
        text, blocks = self._content(body, status=400)
        if original is not None and truthy(body.get("replace_original", False)):
            self._revise(original, text, blocks, RESPONSE_URL_METHOD)
            return {"ok": True}
        if body.get("response_type") == "in_channel":
            self._new_message(ru.channel, text, blocks, RESPONSE_URL_METHOD, thread_ts=as_str(body.get("thread_ts")))
        else:
            self._new_message(ru.channel, text, blocks, RESPONSE_URL_METHOD, ephemeral_to=ru.user)
        return {"ok": True}


__all__ = [
    "ApiCall",
    "FakeConfig",
    "FakeUser",
    "FakeUsergroup",
    "Message",
    "MessageVersion",
    "ResponseUrl",
    "SlackFake",
    "StoredView",
    "UploadedFile",
]
