"""The Slack Web API boundary: every call the bot makes to Slack goes through here.

Honours SLACK_API_URL, retries 429 (with Retry-After), 5xx and dropped connections
with slack_sdk's retry handlers, has a timeout on every call, and translates
slack_sdk errors into ours. `link_names`/`parse` are never sent with user text.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryState
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot import coord, errors, metrics
from bot.catalog import Catalog

Blocks = Sequence[dict[str, Any]]
# A change of group membership in Slack takes effect within these (Redis, then process memory).
USERGROUP_CACHE_SECONDS = 300
LOCAL_CACHE_SECONDS = 10


class CountingRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, counting every 429 (even the ones a retry then hides) per method."""

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            last = request.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
            method = last if "." in last else "response_url"  # Web API methods always have a dot
            metrics.SLACK_RATE_LIMITED.labels(method=metrics.bounded(method)).inc()
        return await super().can_retry_async(state=state, request=request, response=response, error=error)


def _retry_handlers() -> list[Any]:
    return [
        CountingRateLimitHandler(max_retry_count=5),
        AsyncServerErrorRetryHandler(max_retry_count=3),
        AsyncConnectionErrorRetryHandler(max_retry_count=3),
    ]


NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found", "is_archived"})


def _error_code(exc: SlackApiError) -> str:
    """Slack's error code; for a body that is not Slack's JSON (a proxy's 502 page, plain text) the HTTP status.

    slack_sdk leaves such a body as a string, or hands over the raw HTTP response, so nothing is assumed.
    """
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict):
        return str(data.get("error") or "unknown_error")
    status = getattr(exc.response, "status_code", None) or getattr(exc.response, "status", None)
    return f"http_{status}" if isinstance(status, int) else "unexpected_response"


def _translate(method: str, exc: Exception) -> errors.BotError:
    if isinstance(exc, SlackApiError):
        code = _error_code(exc)
        if code in NOT_A_MEMBER:
            return errors.UserError("invite_me")
        return errors.UnavailableError("Slack", errors.Said("call_failed", method=method, why=code))
    return errors.UnavailableError("Slack", errors.Said("call_failed", method=method, why=type(exc).__name__))


def _call_status(exc: Exception) -> str:
    """The metrics label for a failed call: Slack's error code (e.g. ratelimited) or the failure kind."""
    if isinstance(exc, SlackApiError):
        return metrics.bounded(_error_code(exc))
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "connection_error"


class SlackWebApi:
    """Built inside the running event loop (the composition root's start()), which owns its one session."""

    def __init__(self, *, token: str, base_url: str, timeout: float) -> None:
        self._timeout = timeout
        # slack_sdk formats a debug line of every request and response (the blocks included) whenever its
        # logger's own level is unset, whatever the effective level: a logger with a level spares that work.
        # Library records are shown from WARNING on anyway (bot/logs.py).
        self._sdk_log = logging.getLogger(f"{__name__}.slack_sdk")
        self._sdk_log.setLevel(logging.WARNING)
        # One pooled session for every Web API and response_url call: a TLS handshake per call would
        # cost more than the call itself.
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))
        self.client = AsyncWebClient(
            token=token,
            base_url=base_url,
            timeout=int(max(1, timeout)),
            retry_handlers=_retry_handlers(),
            session=self._session,
            logger=self._sdk_log,
        )

    async def close(self) -> None:
        await self._session.close()

    async def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            # slack_sdk's typed methods pick JSON or form encoding per method, as Slack expects.
            response = await getattr(self.client, method.replace(".", "_"))(**kwargs)
        except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            metrics.SLACK_API_CALLS.labels(method=method, status=_call_status(exc)).inc()
            raise _translate(method, exc) from exc
        except AttributeError as exc:
            # slack_sdk's own check of a 200 answer calls .get() on the body, which fails when the body
            # was plain text (a proxy's page): that is Slack being unreachable, not a bug of ours.
            metrics.SLACK_API_CALLS.labels(method=method, status="unexpected_response").inc()
            raise errors.UnavailableError(
                "Slack", errors.Said("call_failed", method=method, why="unexpected response")
            ) from exc
        metrics.SLACK_API_CALLS.labels(method=method, status="ok").inc()
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def post_message(
        self, channel: str, text: str, blocks: Blocks | None = None, *, thread_ts: str | None = None
    ) -> str:
        body: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if blocks is not None:
            body["blocks"] = list(blocks)
        if thread_ts is not None:
            body["thread_ts"] = thread_ts
        data = await self._call("chat.postMessage", **body)
        return str(data["ts"])

    async def update_message(self, channel: str, ts: str, text: str, blocks: Blocks | None = None) -> None:
        body: dict[str, Any] = {"channel": channel, "ts": ts, "text": text}
        body["blocks"] = list(blocks) if blocks is not None else []
        await self._call("chat.update", **body)

    async def post_ephemeral(
        self, channel: str, user: str, text: str, blocks: Blocks | None = None, *, thread_ts: str | None = None
    ) -> None:
        body: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if blocks is not None:
            body["blocks"] = list(blocks)
        if thread_ts is not None:
            body["thread_ts"] = thread_ts
        await self._call("chat.postEphemeral", **body)

    async def respond(
        self,
        response_url: str,
        text: str,
        blocks: Blocks | None = None,
        *,
        ephemeral: bool = True,
        replace_original: bool = False,
    ) -> None:
        """Answer through a slash command's or click's response_url (works where the bot is not a member)."""
        client = AsyncWebhookClient(
            response_url,
            timeout=int(max(1, self._timeout)),
            session=self._session,
            retry_handlers=_retry_handlers(),
            logger=self._sdk_log,
        )
        try:
            response = await client.send(
                text=text,
                blocks=list(blocks) if blocks is not None else None,
                response_type="ephemeral" if ephemeral else "in_channel",
                replace_original=replace_original,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            metrics.SLACK_API_CALLS.labels(method="response_url", status=_call_status(exc)).inc()
            raise _translate("response_url", exc) from exc
        status = "ok" if response.status_code < 400 else str(response.status_code)
        metrics.SLACK_API_CALLS.labels(method="response_url", status=status).inc()
        if response.status_code >= 400:
            raise errors.UnavailableError("Slack", errors.Said("response_url_status", status=response.status_code))

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        await self._call("views.open", trigger_id=trigger_id, view=view)

    async def usergroups(self) -> list[dict[str, Any]]:
        data = await self._call("usergroups.list", include_disabled=False)
        return list(data.get("usergroups", []))

    async def usergroup_members(self, usergroup_id: str) -> list[str]:
        data = await self._call("usergroups.users.list", usergroup=usergroup_id)
        return [str(u) for u in data.get("users", [])]


class SlackGroupDirectory:
    """Policy's GroupDirectory: the catalog's user groups, resolved through Slack and cached in Redis.

    Only groups the catalog names are looked up (usergroups.users.list is Tier 2).
    When Slack cannot say (missing scope, 5xx, garbage), groups_of raises UnavailableError and policy
    fails closed for the roles that depend on a group; a failure is remembered for a few seconds so an
    outage does not turn every request into a round of retried calls to Slack.
    """

    def __init__(self, slack: SlackWebApi, cache: coord.Coordinator, catalog: Catalog) -> None:
        self._slack = slack
        self._cache = cache
        self._wanted = {g for role in catalog.roles.values() for g in role.groups}
        self._fetching = asyncio.Lock()
        self._local: tuple[float, dict[str, list[str]]] | None = None
        self._failed: tuple[float, errors.UnavailableError] | None = None

    def _raise_recent_failure(self) -> None:
        if self._failed is not None and time.monotonic() - self._failed[0] < LOCAL_CACHE_SECONDS:
            raise errors.UnavailableError(self._failed[1].said_dependency, self._failed[1].said_detail)

    async def _membership(self) -> dict[str, list[str]]:
        # Every request checks roles: a few seconds in process memory spare Redis a round trip each time.
        now = time.monotonic()
        if self._local is not None and now - self._local[0] < LOCAL_CACHE_SECONDS:
            return self._local[1]
        cached = await self._cache.cache_get("usergroups")  # another replica may have read Slack
        if not isinstance(cached, dict):
            self._raise_recent_failure()
            # One fetch per replica at a time: a burst of requests on a cold cache must not become a
            # burst of Tier 2 calls to Slack.
            async with self._fetching:
                cached = await self._cache.cache_get("usergroups")
                if not isinstance(cached, dict):
                    self._raise_recent_failure()  # the fetch we waited for has just failed
                    try:
                        cached = await self._fetch_membership()
                    except errors.UnavailableError as exc:
                        self._failed = (time.monotonic(), exc)
                        raise
        self._local, self._failed = (now, cached), None
        return cached

    async def _fetch_membership(self) -> dict[str, list[str]]:
        membership: dict[str, list[str]] = {}
        for group in await self._slack.usergroups():
            names = {group.get("handle", ""), group.get("id", "")} & self._wanted
            if not names:
                continue
            members = await self._slack.usergroup_members(str(group["id"]))
            for name in names:
                membership[name] = members
        await self._cache.cache_set("usergroups", membership, ttl_seconds=USERGROUP_CACHE_SECONDS)
        return membership

    async def groups_of(self, user_id: str) -> frozenset[str]:
        if not self._wanted:
            return frozenset()
        membership = await self._membership()
        return frozenset(name for name, users in membership.items() if user_id in users)
