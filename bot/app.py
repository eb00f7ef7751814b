"""The composition root: builds settings, pools, clients, the engine, the Bolt app and the web app.

Nothing is built at import time; `BotProcess.start()` builds everything in order, the only
place that constructs collaborators, and hands each Slack surface and route the few it uses;
`stop()` shuts it down in the reverse order (stop accepting → jobs → tasks → pools).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot import compiled, coord, errors, logs
from bot.actions.compose import compose_actions
from bot.actions.kubernetes import kubernetes_actions
from bot.actions.kubernetes_triage import triage_actions
from bot.actions.postgres import database_actions
from bot.actions.prometheus import prometheus_actions
from bot.actions.registry import ActionRegistry
from bot.alerts.refs import AlertRefs
from bot.catalog import Catalog, load_catalog
from bot.comms import public_samples
from bot.comms import samples as comms_samples
from bot.comms.escalation import Escalations
from bot.comms.incidents import IncidentService
from bot.comms.maintenance import MaintenanceService
from bot.comms.maintenance_public import MaintenancePublic
from bot.comms.outbox import OutboxWorker
from bot.comms.public import PublicComms
from bot.docker import Compose, Engines
from bot.embedded import EmbeddedServers
from bot.followups import FollowUps
from bot.guides.loader import load_guides
from bot.guides.model import Guide
from bot.k8s import Kube
from bot.locks import RedisLocks
from bot.runbooks.engine import Engine
from bot.runbooks.executions import Execution, State
from bot.runbooks.loader import load_procedures
from bot.runbooks.policy import Policy, RateLimit
from bot.runtime import Runtime
from bot.scheduler import Scheduler
from bot.settings import PROJECT_ROOT, Settings
from bot.slack import bolt as bolt_app
from bot.slack import (
    feature_samples,
    guides,
    health_report,
    incident_command,
    maintenance_command,
    recovery,
    reply_samples,
    runbook_actions,
    runbook_command,
    runbook_samples,
    suggested,
)
from bot.slack.alert_dispatch import AlertDispatcher, AlertRuntime
from bot.slack.guide_runtime import GuideRuntime
from bot.slack.health_report import HealthRuntime
from bot.slack.incident_command import IncidentRuntime
from bot.slack.maintenance_command import MaintenanceRuntime
from bot.slack.replays import ReplayGuard
from bot.slack.replies import Replier
from bot.slack.reply_views import ReplyViews
from bot.slack.runbook_actions import ExecutionRuntime
from bot.slack.runbook_requests import RunbookRequests, RunbookRuntime
from bot.slack.runbook_views import RunbookViews
from bot.slack.subcommands import Subcommands
from bot.slack.webapi import SlackGroupDirectory, SlackWebApi
from bot.store.db import Database
from bot.store.executions import PostgresExecutionStore
from bot.store.guides import GuideSessionStore
from bot.store.incidents import PostgresIncidentStore
from bot.store.jobs import PostgresJobStore
from bot.store.maintenance import PostgresMaintenanceStore
from bot.store.outbox import PostgresOutboxStore
from bot.store.signatures import SeenSignatures
from bot.targets import env
from bot.targets.pagerduty import PagerDuty
from bot.targets.statuspage import Statuspage
from bot.tasks import TaskOwner
from bot.templating import PHRASES, SampleContexts, Templates, check_templates
from bot.values import ValueMask, derive_key
from bot.web import REPLAY_WINDOW_SECONDS, WebRuntime, build_web_app
from bot.web_alerts import alertmanager_handler

log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class CoordinatorLimiter:
    """Policy's RateLimiter on Redis."""

    def __init__(self, coordinator: coord.Coordinator) -> None:
        self._coord = coordinator

    async def hit(self, key: str, *, limit: int, window_seconds: int, member: str) -> int | None:
        return await self._coord.hit_rate_limit(key, limit=limit, window_seconds=window_seconds, member=member)


def build_registry(kube: Kube, engines: Engines, mask: ValueMask, prometheus_url: str | None) -> ActionRegistry:
    return ActionRegistry(
        [
            *kubernetes_actions(kube, mask),
            *triage_actions(kube),
            *compose_actions(Compose(engines)),
            *database_actions(),
            *prometheus_actions(prometheus_url),
        ]
    )


def build_engines(settings: Settings, catalog: Catalog) -> Engines:
    """The catalog's Docker hosts; sessions open on first use, so building them touches no host."""
    return Engines(catalog.docker_hosts, default_url=settings.docker_host, timeout=settings.docker_timeout)


def value_mask(settings: Settings, catalog: Catalog) -> ValueMask:
    key = derive_key(
        settings.value_fingerprint_key.get_secret_value(),
        settings.slack_signing_secret.get_secret_value(),
        settings.slack_bot_token.get_secret_value(),
    )
    return ValueMask.of(catalog.shown_values, key)


def template_samples(catalog: Catalog) -> SampleContexts:
    """Every template the bot renders, each with a hostile sample context from the surface that renders it."""
    return {
        **comms_samples.sample_contexts(catalog),
        **public_samples.public_sample_contexts(catalog),
        **runbook_samples.sample_contexts(catalog),
        **feature_samples.sample_contexts(catalog),
        **reply_samples.sample_contexts(),
    }


# Rendering every template with hostile data takes about a second; a process that starts the bot more
# than once (the test suite starts hundreds) checks the same files once. Keyed on what the check reads:
# each template file and the catalog file, by name, size and modification time.
_checked_templates: dict[tuple[object, ...], list[str]] = {}


def _files_key(*paths: Path) -> tuple[object, ...]:
    files = sorted(f for p in paths for f in (p.iterdir() if p.is_dir() else [p]) if f.is_file())
    return tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)


def _files_contents(*paths: Path) -> list[str | bytes] | None:
    # Every file under a folder, subfolders too: a template may import a macro file from one.
    files = sorted({f for p in paths for f in (p.rglob("*") if p.is_dir() else [p]) if f.is_file()})
    try:
        return [part for f in files for part in (str(f), f.read_bytes())]
    except OSError:
        return None  # a file that cannot be read: the check itself says which, and nothing is kept


def checked_templates(settings: Settings, catalog: Catalog) -> list[str]:
    """check_templates with the samples of every surface, once per process for unchanged files, and once
    for every process for unchanged files and code (its problems kept on disk, bot/compiled.py): a
    replica or worker that restarts, or `serve` after `check-config`, does not render them all again."""
    compiled.use_cache_dir(settings.cache_dir or settings.data_dir / "cache")
    key = _files_key(settings.templates_dir, settings.chatops_config)
    if key not in _checked_templates:
        samples = template_samples(catalog)

        def check() -> list[str]:
            return check_templates(settings.templates_dir, samples)

        def by_contexts(templates: list[str | bytes]) -> list[str]:
            try:
                contexts = [
                    part for name, make in sorted(samples.items()) for part in (name, compiled.canonical(make()))
                ]
            except compiled.NotData:
                return check()  # a context that cannot be spelled exactly: worked out, nothing kept
            return compiled.remembered("template-check-samples", [*templates, *contexts], check)

        # What the check reads: the templates, the packaged phrase book (samples say errors with it before the
        # configured one is installed), and the sample contexts the catalog gives. Kept twice: under the
        # catalog file (a restarted replica: nothing to build), and under the contexts themselves (a catalog
        # that differs only where no sample looks, like the shell's overlay with its local health URLs).
        templates = _files_contents(settings.templates_dir, PROJECT_ROOT / "templates" / PHRASES)
        catalog_file = _files_contents(settings.chatops_config)
        if templates is None or catalog_file is None:
            _checked_templates[key] = check()
        else:
            inputs = [*templates, *catalog_file]
            _checked_templates[key] = compiled.remembered("template-check", inputs, lambda: by_contexts(templates))
    return list(_checked_templates[key])


def load_procedures_and_templates(settings: Settings, catalog: Catalog, registry: ActionRegistry) -> dict[str, Any]:
    """Procedures and message templates, checked together so that one run lists every problem."""
    template_problems = checked_templates(settings, catalog)
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
        registry = build_registry(
            kube, build_engines(settings, catalog), value_mask(settings, catalog), settings.prometheus_url
        )
        procedures = load_procedures_and_templates(settings, catalog, registry)
    finally:
        kube.close()
    return catalog, registry, procedures


# No generated repr: it would spell out the whole bot (catalog, procedures, clients; about 100 kB) wherever
# one is shown, and on Python 3.11 asyncio.Runner.run formats it (its SIGINT check reprs the handler, which
# holds the last task, and so that task's result) on every call: pytest-asyncio calls it for each fixture.
@dataclass(repr=False)
class BotProcess:
    settings: Settings
    replica_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    runtime: Runtime | None = None
    bolt: AsyncApp | None = None
    web_app: web.Application | None = None
    health: HealthRuntime | None = None
    _embedded: EmbeddedServers | None = None
    _kube: Kube | None = None
    _report_kube: Kube | None = None
    _engines: Engines | None = None
    _views: RunbookViews | None = None  # also redraws what recovery and the sweep closed
    _runner: web.AppRunner | None = None
    _statuspage: Statuspage | None = None
    _pagerduty: PagerDuty | None = None
    outbox: OutboxWorker | None = None  # delivers to Statuspage and PagerDuty; tests drain it directly
    port: int | None = None
    run_scheduler: bool = True  # tests drive the scheduler with their own clock instead

    async def start(self) -> Runtime:
        s = self.settings
        # Configuration first: a broken catalog, procedure or template stops us before any server starts.
        catalog = load_catalog(s.chatops_config)
        # The monitored services' DSNs and Redis URLs, and PROMETHEUS_URL (it may carry credentials).
        logs.redact_too([*env.named_values(catalog), *([s.prometheus_url] if s.prometheus_url else [])])
        self._kube = Kube(kubeconfig=s.kubeconfig, timeout=s.kube_timeout)
        self._engines = build_engines(s, catalog)
        mask = value_mask(s, catalog)
        registry = build_registry(self._kube, self._engines, mask, s.prometheus_url)
        procedures = load_procedures_and_templates(s, catalog, registry)
        guides = load_guides(s.guides_dir, procedures, catalog)
        templates = Templates(s.templates_dir)  # checked above; the one environment every surface renders with
        errors.use_phrase_book(templates.plain)  # logs and the CLI say errors in the configured words too
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
            followups=FollowUps(workers=s.followup_workers, capacity=s.followup_queue),
            clock=utc_now,
            replica_id=self.replica_id,
            scheduler=Scheduler(PostgresJobStore(db), clock=utc_now, replica_id=self.replica_id),
        )
        self.runtime = rt
        rt.followups.start()
        self.bolt = bolt_app.build_bolt_app(slack.client)
        self._register_surfaces(rt, self.bolt, guides, templates)
        alerts = AlertDispatcher(
            AlertRuntime(slack, catalog, procedures, AlertRefs(coordinator), rt.tasks, templates=templates)
        )
        self.web_app = build_web_app(
            WebRuntime(
                signing_secret=s.slack_signing_secret,
                db=db,
                coord=coordinator,
                replays=ReplayGuard(coordinator, SeenSignatures(db), window_seconds=REPLAY_WINDOW_SECONDS),
                read_timeout=s.http_read_timeout,
            ),
            self.bolt,
            alertmanager_handler(
                s.alertmanager_token.get_secret_value(), catalog, alerts, read_timeout=s.http_read_timeout
            ),
        )
        await self.recover_executions()
        rt.tasks.every("sweep-executions", s.sweep_seconds, self.sweep_executions)
        if self.run_scheduler:
            await rt.scheduler.start()
        return rt

    def _register_surfaces(
        self, rt: Runtime, bolt: AsyncApp, guide_files: Mapping[str, Guide], templates: Templates
    ) -> None:
        """Every Slack surface (and the comms jobs) with the collaborators it uses, built here."""
        s, slack, catalog, procedures = rt.settings, rt.slack, rt.catalog, rt.procedures
        # The health report's own Kubernetes client, with as many workers as checks may run at once, so
        # a report fanning out over hundreds of services never starves the interactive commands' calls.
        concurrency = min(catalog.health.concurrency, 32)
        self._report_kube = Kube(kubeconfig=s.kubeconfig, timeout=s.kube_timeout, max_workers=concurrency)
        self.health = HealthRuntime(
            slack, catalog, procedures, self._report_kube, s.prometheus_url, templates=templates, policy=rt.policy
        )
        incident_store = PostgresIncidentStore(rt.db)
        self._views = RunbookViews(templates)
        replier = Replier(slack, ReplyViews(templates))  # the one error box every surface answers with
        requests = RunbookRequests(slack, catalog, procedures, rt.engine, self._views)
        subcommands = Subcommands()  # `/runbook list`, `history`, `health`, `guide`: added by who answers them
        runbook_command.register(
            bolt,
            RunbookRuntime(requests, rt.policy, s.kube_timeout * 2, rt.followups, replier, subcommands),
        )
        health_report.add_subcommand(subcommands, self.health)
        guide = GuideRuntime(
            guides=guide_files,
            sessions=GuideSessionStore(rt.db),
            incidents=incident_store,
            scheduler=rt.scheduler,
            clock=rt.clock,
            templates=templates,
            requests=requests,
            policy=rt.policy,
            replier=replier,
            followups=rt.followups,
            health_step=functools.partial(health_report.answer_in_thread, self.health),
        )
        guides.register(bolt, subcommands, guide)
        runbook_actions.register(
            bolt, ExecutionRuntime(slack, rt.engine, procedures, rt.tasks, rt.followups, self._views, replier)
        )
        suggested.register(bolt, requests, rt.followups, replier)
        health_report.register(rt.scheduler, self.health)
        escalations = Escalations(incident_store, rt.scheduler, slack, catalog, templates, rt.clock)
        escalations.register_jobs(rt.scheduler)
        incidents = IncidentService(
            store=incident_store,
            scheduler=rt.scheduler,
            slack=slack,
            policy=rt.policy,
            catalog=catalog,
            templates=templates,
            clock=rt.clock,
            escalations=escalations if catalog.escalation else None,
        )
        incidents.register_jobs(rt.scheduler)
        public = self._build_outbound(rt, templates)
        incident_command.register(
            bolt, IncidentRuntime(slack, catalog, incidents, templates, rt.followups, replier, public, self._pagerduty)
        )
        maintenance = MaintenanceService(
            store=PostgresMaintenanceStore(rt.db),
            scheduler=rt.scheduler,
            slack=slack,
            policy=rt.policy,
            catalog=catalog,
            templates=templates,
            clock=rt.clock,
            public=self._maintenance_public(rt, templates) if public is not None else None,
        )
        maintenance.register_jobs(rt.scheduler)
        maintenance_command.register(
            bolt, MaintenanceRuntime(slack, catalog, maintenance, rt.clock, templates, rt.followups, replier)
        )

    def _build_outbound(self, rt: Runtime, templates: Templates) -> PublicComms | None:
        """Statuspage and PagerDuty clients (when the catalog names them), the outbox worker that calls
        them (owned by rt.tasks, so cancelled on shutdown) and the status page drafts."""
        s, catalog = rt.settings, rt.catalog
        if catalog.statuspage is not None:
            self._statuspage = Statuspage(
                s.statuspage_api_url, api_key_env=catalog.statuspage.api_key_env, timeout=s.outbound_timeout
            )
        if catalog.pagerduty is not None:
            self._pagerduty = PagerDuty(s.pagerduty_events_url, s.pagerduty_api_url, timeout=s.outbound_timeout)
        store = PostgresOutboxStore(rt.db)
        self.outbox = OutboxWorker(
            store=store,
            statuspage=self._statuspage,
            pager=self._pagerduty,
            clock=rt.clock,
            backoff_seconds=s.outbox_backoff_seconds,
            backoff_max_seconds=s.outbox_backoff_max_seconds,
            lease=timedelta(seconds=s.outbound_timeout * 3),
        )
        rt.tasks.every("outbox", s.outbox_poll_seconds, self._drain_outbox)
        if catalog.statuspage is None:
            return None
        return PublicComms(catalog.statuspage, store, rt.slack, rt.policy, catalog, templates, rt.clock)

    def _maintenance_public(self, rt: Runtime, templates: Templates) -> MaintenancePublic:
        """Maintenance windows as Statuspage scheduled maintenances: the incident flow's drafts, previews and outbox."""
        assert rt.catalog.statuspage is not None
        return MaintenancePublic(
            rt.catalog.statuspage,
            PostgresOutboxStore(rt.db),
            rt.slack,
            rt.policy,
            templates,
            rt.catalog.timezone,
            rt.clock,
        )

    async def _drain_outbox(self) -> None:
        if self.outbox is not None:
            await self.outbox.drain()

    async def recover_executions(self) -> list[Execution]:
        """At start-up: executions a crash cut off are marked interrupted (never re-run) and say so."""
        assert self.runtime is not None
        rt = self.runtime
        closed = await rt.engine.recover_interrupted(stale_after_seconds=rt.settings.execution_stale_seconds)
        await self._show_closed(closed)
        return closed

    async def sweep_executions(self) -> None:
        """Periodically: expired requests lose their buttons, interrupted executions say so."""
        assert self.runtime is not None
        rt = self.runtime
        await self._show_closed(await rt.engine.sweep(stale_after_seconds=rt.settings.execution_stale_seconds))

    async def _show_closed(self, closed: list[Execution]) -> None:
        assert self.runtime is not None and self._views is not None
        interrupted = sum(e.state is State.INTERRUPTED for e in closed)
        if interrupted:
            log.warning("executions interrupted by a restart", count=interrupted)
        await recovery.show_closed(self.runtime.slack, self._views, self.runtime.procedures, closed)

    async def serve_http(self, host: str, port: int, *, reuse_port: bool = False) -> int:
        """Start listening; returns the bound port (port 0 picks a free one).

        reuse_port: several worker processes listen on the same port (SO_REUSEPORT), see bot/workers.py."""
        assert self.web_app is not None
        self._runner = web.AppRunner(
            self.web_app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=5.0,
            # aiohttp closes a connection that has not sent a whole request line and headers within
            # this time (and an idle keep-alive one): a slow client cannot hold a connection open.
            keepalive_timeout=self.settings.http_read_timeout,
            # After answering a request whose body it did not read (a 408, 413 or 401), aiohttp reads and
            # drops the rest so the client sees the answer; a client that keeps trickling gets no longer
            # than the read timeout for that either (aiohttp's own default is 10 s).
            lingering_time=self.settings.http_read_timeout,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_port=reuse_port or None)
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
            await rt.scheduler.stop(self.settings.shutdown_grace_seconds)
            await rt.followups.close(self.settings.shutdown_grace_seconds)  # queued answers may still spawn executions
            await rt.tasks.drain(self.settings.shutdown_grace_seconds)
            for client in (self._statuspage, self._pagerduty):
                if client is not None:
                    await client.close()
            self._statuspage = self._pagerduty = self.outbox = None
            await rt.slack.close()
            with contextlib.suppress(errors.UnavailableError, OSError):
                await rt.coord.close()
            await rt.db.close()
            self.runtime = None
        if self._kube is not None:
            self._kube.close()
            self._kube = None
        if self._report_kube is not None:
            self._report_kube.close()
            self._report_kube = None
            self.health = None
        if self._engines is not None:
            await self._engines.close()
            self._engines = None
        if self._embedded is not None:
            await asyncio.to_thread(self._embedded.close)
            self._embedded = None
