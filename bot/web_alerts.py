"""POST /alerts/alertmanager: the Alertmanager webhook receiver.

Checks, in order, so that an unauthenticated caller learns nothing and costs nothing:
bearer token (401; also when ALERTMANAGER_TOKEN is unset — fail closed), size
(413), JSON and version 4 (400 with the reason). Then it queues the group for its
channel and answers 200 at once; Slack is called by the channel's worker
(bot.slack.alert_dispatch). Nothing is posted for a refused request.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from bot import metrics
from bot.alerts import routing
from bot.alerts.payload import PayloadError, parse
from bot.catalog import Catalog
from bot.slack.alert_dispatch import AlertDispatcher

log = structlog.get_logger(__name__)

# Alertmanager groups can be big (max_alerts: 0 = all of them); 1 MiB is generous and still bounded.
# Read here rather than through the app's client_max_size, which is sized for Slack.
MAX_BODY_BYTES = 1024 * 1024

Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _refuse(status: int, reason: str) -> web.Response:
    return web.json_response({"ok": False, "error": reason}, status=status)


def _authorized(expected: str, header: str | None) -> bool:
    if not expected or header is None:
        return False
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


async def _read_bounded(request: web.Request) -> bytes | None:
    """The body, or None when it is over the limit (whatever Content-Length claimed)."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return None
    body = await request.content.read(MAX_BODY_BYTES + 1)
    while len(body) <= MAX_BODY_BYTES and not request.content.at_eof():
        chunk = await request.content.read(MAX_BODY_BYTES + 1 - len(body))
        if not chunk:
            break
        body += chunk
    return None if len(body) > MAX_BODY_BYTES else body


def alertmanager_handler(token: str, catalog: Catalog, dispatcher: AlertDispatcher, *, read_timeout: float) -> Route:
    if not token:
        log.warning("ALERTMANAGER_TOKEN is not set: /alerts/alertmanager refuses every request")

    async def handle_alertmanager_webhook(request: web.Request) -> web.Response:
        outcome, response = await answer(request)
        metrics.ALERT_DELIVERIES.labels(outcome=outcome).inc()
        return response

    async def answer(request: web.Request) -> tuple[str, web.Response]:
        if not _authorized(token, request.headers.get("Authorization")):
            log.warning("refused unauthenticated alert webhook", remote=request.remote)
            return "unauthorized", _refuse(401, "missing or wrong bearer token")
        try:
            async with asyncio.timeout(read_timeout):
                body = await _read_bounded(request)
        except TimeoutError:
            return "slow_client", _refuse(408, "body not received in time")
        if body is None:
            return "too_large", _refuse(413, f"body larger than {MAX_BODY_BYTES} bytes")
        try:
            group = parse(body)
        except PayloadError as exc:
            return "malformed", _refuse(400, str(exc))
        channel = routing.channel_for(catalog, group)
        if not dispatcher.submit(channel, group):
            # Bounded memory: Alertmanager retries a 5xx, so the alert is delayed, not lost.
            log.warning("alert queue full; asked Alertmanager to retry", channel=channel)
            return "queue_full", _refuse(503, "alert queue full; retry later")
        log.info("alert group accepted", channel=channel, status=group.status, alerts=len(group.alerts))
        return "accepted", web.json_response({"ok": True})

    return handle_alertmanager_webhook
