"""The aiohttp application: /slack/events, /healthz, /readyz (features add /metrics, /alerts)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from aiohttp import web
from pydantic import SecretStr
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot import errors, metrics
from bot.coord import Coordinator
from bot.slack import payloads, signing
from bot.slack.replays import ReplayGuard
from bot.store.db import Database

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 512 * 1024  # Slack payloads are far smaller; anything bigger is not Slack
SLACK_CONTENT_TYPES = ("application/x-www-form-urlencoded", "application/json")
REPLAY_WINDOW_SECONDS = signing.MAX_SKEW_SECONDS * 2
READY_TIMEOUT_SECONDS = 2.0

Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _refuse(status: int, reason: str) -> web.Response:
    return web.json_response({"ok": False, "error": reason}, status=status)


def measured(handler: Route) -> Route:
    """Time the answer (the ack), count it by kind and status class, and scope the log context to it.

    The handler binds `kind`, `team`, `user`, `channel`, `command` once the signature is verified;
    listener tasks Bolt starts inherit the context, so their log lines carry the same request_id.
    """

    async def handle_measured(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=uuid.uuid4().hex[:12])
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            kind = str(structlog.contextvars.get_contextvars().get("kind", "other"))
            kind = kind if kind in metrics.REQUEST_KINDS else "other"
            metrics.ACK_SECONDS.labels(kind=kind).observe(time.perf_counter() - started)
            metrics.SLACK_REQUESTS.labels(kind=kind, outcome=metrics.status_class(status)).inc()
            structlog.contextvars.clear_contextvars()

    return handle_measured


@dataclass(frozen=True)
class WebRuntime:
    """What the HTTP routes use besides Bolt; built by the composition root."""

    signing_secret: SecretStr
    db: Database  # readiness and pool metrics
    coord: Coordinator  # readiness
    replays: ReplayGuard  # a signed request is taken once, also while Redis is down
    read_timeout: float  # a slow client's body read is cut off after this


def slack_events_handler(rt: WebRuntime, bolt: AsyncApp) -> Route:
    secret = rt.signing_secret.get_secret_value()
    read_timeout = rt.read_timeout

    async def handle_slack_events(request: web.Request) -> web.StreamResponse:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _refuse(413, "body too large")
        if request.content_type not in SLACK_CONTENT_TYPES:
            return _refuse(415, "unsupported content type")
        try:
            async with asyncio.timeout(read_timeout):
                body = await request.read()
        except TimeoutError:
            return _refuse(408, "body not received in time")
        problem = signing.verify(secret, request.headers, body, now=time.time())
        if problem is not None:
            log.warning("refused unsigned or badly signed request", reason=problem, remote=request.remote)
            return _refuse(401, "invalid signature")
        if not await rt.replays.first_time(request.headers["X-Slack-Signature"]):
            log.warning("refused replayed request", remote=request.remote)
            return _refuse(401, "replayed request")
        try:
            bolt_request = AsyncBoltRequest(
                body=body.decode("utf-8", errors="replace"),
                query=request.query_string,
                headers={k.lower(): [v] for k, v in request.headers.items()},
            )
        except (ValueError, TypeError, AttributeError, KeyError, RecursionError):
            # Signed, but not the JSON or form Slack sends (Bolt's parser fails in these ways;
            # RecursionError: JSON nested deeper than the parser's stack).
            return _refuse(400, "malformed body")
        # Bolt has parsed the body once; the log context and metrics read the same dict.
        structlog.contextvars.bind_contextvars(**payloads.request_fields(bolt_request.body))
        bolt_response = await bolt.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    return measured(handle_slack_events)


async def handle_healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def readyz_handler(rt: WebRuntime) -> Route:
    async def handle_readyz(_: web.Request) -> web.Response:
        checks: dict[str, str] = {}
        for name, probe in (("postgres", rt.db.ping), ("redis", rt.coord.ping)):
            try:
                async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                    await probe()
                checks[name] = "ok"
                metrics.DEPENDENCY_UP.labels(dependency=name).set(1)
            except (errors.UnavailableError, TimeoutError):
                checks[name] = "unavailable"  # the reason goes to the log, never to an unauthenticated caller
                metrics.DEPENDENCY_UP.labels(dependency=name).set(0)
                log.warning("readiness check failed", dependency=name)
        ready = all(v == "ok" for v in checks.values())
        return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)

    return handle_readyz


def metrics_handler(rt: WebRuntime) -> Route:
    async def handle_metrics(_: web.Request) -> web.Response:
        metrics.observe_pool(*rt.db.pool_usage())
        response = web.Response(body=metrics.render())
        response.headers["Content-Type"] = metrics.CONTENT_TYPE
        return response

    return handle_metrics


def build_web_app(rt: WebRuntime, bolt: AsyncApp, alertmanager: Route) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_post("/slack/events", slack_events_handler(rt, bolt))
    app.router.add_get("/healthz", handle_healthz)
    app.router.add_get("/readyz", readyz_handler(rt))
    app.router.add_get("/metrics", metrics_handler(rt))
    app.router.add_post("/alerts/alertmanager", alertmanager)
    return app
