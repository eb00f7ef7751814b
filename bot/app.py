"""The composition root: builds settings, pools, clients, the engine, the Bolt app and the web app.

Nothing is built at import time; `BotProcess.start()` builds everything in order
and `stop()` shuts it down in the reverse order (stop accepting → jobs → tasks → pools).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot import coord, errors
from bot.actions.kubernetes import kubernetes_actions
from bot.actions.postgres import database_actions
from bot.actions.registry import ActionRegistry
from bot.catalog import Catalog, load_catalog
from bot.comms.templating import check_templates
from bot.embedded import EmbeddedServers
from bot.k8s import Kube
from bot.locks import RedisLocks
from bot.policy import Policy, RateLimit
from bot.runbooks.engine import Engine
from bot.runbooks.loader import load_procedures
from bot.runtime import Runtime
from bot.scheduler import Scheduler
from bot.settings import Settings
from bot.slack import bolt as bolt_app
from bot.slack import recovery
from bot.slack.webapi import SlackGroupDirectory, SlackWebApi
from bot.store.db import Database
from bot.store.executions import PostgresExecutionStore
from bot.tasks import TaskOwner
from bot.values import ValueMask, derive_key
from bot.web import build_web_app

log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class CoordinatorLimiter:
    """Policy's RateLimiter on Redis."""

    def __init__(self, coordinator: coord.Coordinator) -> None:
        self._coord = coordinator

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> int | None:
        return await self._coord.hit_rate_limit(key, limit=limit, window_seconds=window_seconds)


def value_mask(settings: Settings, catalog: Catalog) -> ValueMask:
    key = derive_key(
        settings.value_fingerprint_key.get_secret_value(),
        settings.slack_signing_secret.get_secret_value(),
        settings.slack_bot_token.get_secret_value(),
    )
    return ValueMask.of(catalog.shown_values, key)


def build_registry(kube: Kube, mask: ValueMask) -> ActionRegistry:
    return ActionRegistry([*kubernetes_actions(kube, mask), *database_actions()])


def load_procedures_and_templates(settings: Settings, catalog: Catalog, registry: ActionRegistry) -> dict[str, Any]:
    """Procedures and message templates, checked together so that one run lists every problem."""
    template_problems = check_templates(settings.templates_dir, catalog)
    try:
        procedures = load_procedures(settings.commands_dir, catalog, registry)
    except errors.ConfigError as exc:
        raise errors.ConfigError(exc.problems + template_problems) from exc
    if template_problems:
        raise errors.ConfigError(template_problems)
    return dict(procedures)


def load_configuration(settings: Settings) -> tuple[Catalog, ActionRegistry, dict[str, Any]]:
    """Everything `check-config` validates, against a registry with no live clients."""
    catalog = load_catalog(settings.chatops_config)  # nothing else can be checked without it
    kube = Kube(kubeconfig=settings.kubeconfig, timeout=settings.kube_timeout)
    try:
        registry = build_registry(kube, value_mask(settings, catalog))
        procedures = load_procedures_and_templates(settings, catalog, registry)
    finally:
        kube.close()
    return catalog, registry, procedures


@dataclass
class BotProcess:
    settings: Settings
    replica_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    runtime: Runtime | None = None
    bolt: AsyncApp | None = None
    web_app: web.Application | None = None
    _embedded: EmbeddedServers | None = None
    _kube: Kube | None = None
    _runner: web.AppRunner | None = None
    port: int | None = None
    run_scheduler: bool = True  # tests drive the scheduler with their own clock instead

    async def start(self) -> Runtime:
        s = self.settings
        # Configuration first: a broken catalog, procedure or template stops us before any server starts.
        catalog = load_catalog(s.chatops_config)
        self._kube = Kube(kubeconfig=s.kubeconfig, timeout=s.kube_timeout)
        mask = value_mask(s, catalog)
        registry = build_registry(self._kube, mask)
        procedures = load_procedures_and_templates(s, catalog, registry)
        self._embedded = EmbeddedServers(s.data_dir)
        database_url = s.database_url.get_secret_value() if s.database_url else self._embedded.postgres_url()
        redis_url = s.redis_url.get_secret_value() if s.redis_url else self._embedded.redis_url()
        db = Database(database_url, timeout=s.db_timeout, max_size=s.db_pool_size)
        await db.open()
        applied = await db.migrate()
        if applied:
            log.info("database migrated", versions=applied)
        coordinator = coord.Coordinator(redis_url, timeout=s.redis_timeout, prefix=s.redis_prefix)
        slack = SlackWebApi(
            token=s.slack_bot_token.get_secret_value(), base_url=s.slack_api_base, timeout=s.slack_timeout
        )
        policy = Policy(
            catalog,
            SlackGroupDirectory(slack, coordinator, catalog),
            CoordinatorLimiter(coordinator),
            RateLimit(destructive_per_window=s.destructive_per_minute, window_seconds=60),
        )
        store = PostgresExecutionStore(db)
        engine = Engine(
            catalog=catalog,
            procedures=procedures,
            registry=registry,
            policy=policy,
            store=store,
            locks=RedisLocks(coordinator),
            clock=utc_now,
            replica_id=self.replica_id,
            heartbeat_seconds=s.heartbeat_seconds,
            mask=mask,
        )
        rt = Runtime(
            settings=s,
            catalog=catalog,
            procedures=procedures,
            registry=registry,
            db=db,
            coord=coordinator,
            slack=slack,
            policy=policy,
            executions=store,
            engine=engine,
            tasks=TaskOwner(),
            clock=utc_now,
            replica_id=self.replica_id,
            scheduler=Scheduler(db, clock=utc_now, replica_id=self.replica_id),
        )
        self.runtime = rt
        self.bolt = bolt_app.build_bolt_app(rt)
        self.web_app = build_web_app(rt, self.bolt)
        await recovery.recover_interrupted(rt)
        rt.tasks.every("sweep-executions", s.sweep_seconds, lambda: recovery.sweep(rt))
        if self.run_scheduler:
            await rt.scheduler.start()
        return rt

    async def serve_http(self, host: str, port: int) -> int:
        """Start listening; returns the bound port (port 0 picks a free one)."""
        assert self.web_app is not None
        self._runner = web.AppRunner(self.web_app, access_log=None, handle_signals=False, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port
        log.info("listening", host=host, port=self.port)
        return int(self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()  # stop accepting first
            self._runner = None
        rt = self.runtime
        if rt is not None:
            rt.scheduler.stop()
            await rt.tasks.drain(self.settings.shutdown_grace_seconds)
            await rt.slack.close()
            with contextlib.suppress(errors.UnavailableError, OSError):
                await rt.coord.close()
            await rt.db.close()
            self.runtime = None
        if self._kube is not None:
            self._kube.close()
            self._kube = None
        if self._embedded is not None:
            await asyncio.to_thread(self._embedded.close)
            self._embedded = None
