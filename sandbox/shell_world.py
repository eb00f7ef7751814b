"""The example services' own dependencies for `runbook-bot shell`, all on 127.0.0.1.

The shipped catalog names real hosts (`https://api.mailscore.com/health`) and environment variables
holding real DSNs. The shell keeps that catalog unchanged and applies an overlay instead: each service's
database becomes a database on the embedded PostgreSQL (seeded with idle sessions and a long-running
query), each Redis a numbered database on the embedded Redis (cache keys and Bull-style queues, one over
the warn threshold), each health URL a local endpoint (one slow, one answering 503), and PROMETHEUS_URL the
Prometheus fake (one service's error rate over its fail threshold). `describe()` prints what is simulated.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import redis.asyncio as aioredis
import yaml
from aiohttp import web

from bot.catalog import Catalog
from sandbox.prometheus_fake import PrometheusFake

# How the local health endpoints behave: a 503 and a slow answer (over the catalog's warn of 500 ms).
FAILING_HEALTH: Final = "frontend"
SLOW_HEALTH: Final = "email-dashboard"
SLOW_SECONDS: Final = 0.8
# Queue lengths per queue key; the first is over the catalog's queue_warn (1000), under its fail.
QUEUE_LENGTHS: Final = {"bull:campaign-emails:waiting": 1_500, "bull:campaign-emails:failed": 12}
DEFAULT_QUEUE_LENGTH: Final = 40
# What stays on each service database: idle sessions (db-connections) and a query that runs until
# someone cancels it (kill-long-queries, db-activity).
IDLE_SESSIONS: Final = 3
LONG_QUERY: Final = "SELECT pg_sleep(86400) /* nightly report export */"
TIMEOUT: Final = 10.0


def database_name(env: str) -> str:
    """`MAIL_SCORE_DATABASE_URL` → `sandbox_mail_score`."""
    stem = re.sub(r"_(DATABASE|DB|DSN|POSTGRES)(_URL|_DSN)?$", "", env)
    return "sandbox_" + re.sub(r"[^a-z0-9_]", "_", stem.lower())


def with_database(dsn: str, name: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


def with_redis_db(url: str, number: int) -> str:
    """The same Redis, database `number` (`unix://…?db=N`, `redis://host:port/N`)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":  # unix:///path/to/socket: urlunsplit would drop the empty authority
        query = dict(parse_qsl(parts.query))
        query["db"] = str(number)
        return f"unix://{parts.netloc}{parts.path}?{urlencode(query)}"
    return urlunsplit(parts._replace(path=f"/{number}"))


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


@dataclass
class _Database:
    env: str
    dsn: str
    sessions: list[asyncpg.Connection] = field(default_factory=list)
    long_query: asyncio.Task[None] | None = None


@dataclass
class ShellWorld:
    """Start with `start(catalog, postgres_url, redis_url)`; `overlay_catalog` and `environment` then say
    how the bot reaches it; `stop()` ends every session and server it started."""

    prometheus: PrometheusFake = field(default_factory=PrometheusFake)
    environment: dict[str, str] = field(default_factory=dict)  # DSN/URL variables the catalog names
    health_urls: dict[str, str] = field(default_factory=dict)  # service → local health URL
    _databases: list[_Database] = field(default_factory=list)
    _health: web.AppRunner | None = None
    _admin_dsn: str | None = None  # the server's DSN the databases were created with

    async def start(self, catalog: Catalog, postgres_url: str, redis_url: str) -> None:
        await self.prometheus.start()
        await self._start_health(catalog)
        await self._start_databases(catalog, postgres_url)
        await self._seed_redis(catalog, redis_url)

    async def stop(self) -> None:
        pids = [conn.get_server_pid() for db in self._databases for conn in db.sessions]
        for db in self._databases:
            if db.long_query is not None:
                db.long_query.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await db.long_query
            for conn in db.sessions:
                conn.terminate()  # no graceful close: a session may still be inside pg_sleep
        if pids and self._admin_dsn is not None:
            # A backend inside pg_sleep does not notice its client is gone; on a server the shell shares
            # (DATABASE_URL) it would sleep for a day. End them server-side.
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                admin = await asyncpg.connect(self._admin_dsn, timeout=TIMEOUT)
                try:
                    await admin.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", pids)
                finally:
                    await admin.close()
        self._databases.clear()
        if self._health is not None:
            await self._health.cleanup()
            self._health = None
        await self.prometheus.stop()

    def apply(self, environ: MutableMapping[str, str]) -> None:
        """Point the catalog's variables at the local servers (the shell's own process environment)."""
        environ.update(self.environment)

    def overlay_catalog(self, source: Path, target: Path) -> Path:
        """A copy of the catalog file with each health URL replaced by its local endpoint."""
        data: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
        for name, url in self.health_urls.items():
            data["services"][name]["health_url"] = url
        target.write_text(
            f"# runbook-bot shell: {source.name} with health URLs on 127.0.0.1 (sandbox overlay)\n"
            + yaml.safe_dump(data, sort_keys=False),
            encoding="utf-8",
        )
        return target

    def describe(self) -> str:
        """What is simulated, for the start-up banner."""
        lines = ["Sandbox overlay (the catalog is unchanged; these point at local servers):"]
        lines.append(
            f"  PROMETHEUS_URL = {self.prometheus.url}  (error rate of {', '.join(sorted(self.prometheus.hot))}"
            " over its fail threshold)"
        )
        for env, value in sorted(self.environment.items()):
            lines.append(f"  {env} = {_redacted(value)}")
        for service, url in sorted(self.health_urls.items()):
            note = {FAILING_HEALTH: "  (answers 503)", SLOW_HEALTH: f"  (answers in {SLOW_SECONDS:g} s)"}
            lines.append(f"  {service}.health_url = {url}{note.get(service, '')}")
        return "\n".join(lines)

    # ── health endpoints ─────────────────────────────────────────────────────

    async def _start_health(self, catalog: Catalog) -> None:
        app = web.Application()
        app.router.add_get("/{service}/health", self._answer_health)
        self._health = web.AppRunner(app, access_log=None)
        await self._health.setup()
        await web.TCPSite(self._health, "127.0.0.1", 0).start()
        port = self._health.addresses[0][1]
        self.health_urls = {
            name: f"http://127.0.0.1:{port}/{name}/health" for name, svc in catalog.services.items() if svc.health_url
        }

    async def _answer_health(self, request: web.Request) -> web.Response:
        service = request.match_info["service"]
        if service == FAILING_HEALTH:
            return web.json_response({"status": "unavailable", "reason": "upstream timeout"}, status=503)
        if service == SLOW_HEALTH:
            await asyncio.sleep(SLOW_SECONDS)
        return web.json_response({"status": "ok", "service": service})

    # ── PostgreSQL ───────────────────────────────────────────────────────────

    async def _start_databases(self, catalog: Catalog, postgres_url: str) -> None:
        envs = sorted({s.postgres_dsn_env for s in catalog.services.values() if s.postgres_dsn_env})
        self._admin_dsn = postgres_url
        admin = await asyncpg.connect(postgres_url, timeout=TIMEOUT)
        try:
            for env in envs:
                # a data dir used before, or another shell on the same server creating it at the same moment
                with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                    await admin.execute(f'CREATE DATABASE "{database_name(env)}"')
        finally:
            await admin.close()
        for env in envs:
            db = _Database(env, with_database(postgres_url, database_name(env)))
            self._databases.append(db)
            self.environment[env] = db.dsn
            await self._seed_database(db)

    async def _seed_database(self, db: _Database) -> None:
        conn = await asyncpg.connect(db.dsn, timeout=TIMEOUT)
        db.sessions.append(conn)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS emails (id bigserial PRIMARY KEY, sender text, score int);"
            "INSERT INTO emails (sender, score) SELECT 'user' || i || '@example.com', i % 100"
            "  FROM generate_series(1, 200) i WHERE NOT EXISTS (SELECT 1 FROM emails)"
        )
        for _ in range(IDLE_SESSIONS - 1):
            db.sessions.append(await asyncpg.connect(db.dsn, timeout=TIMEOUT))
        runner = await asyncpg.connect(db.dsn, timeout=TIMEOUT)
        db.sessions.append(runner)
        db.long_query = asyncio.create_task(_run_until_cancelled(runner), name=f"shell-world-long-query-{db.env}")

    # ── Redis ────────────────────────────────────────────────────────────────

    async def _seed_redis(self, catalog: Catalog, redis_url: str) -> None:
        queues: dict[str, set[str]] = {}
        for svc in catalog.services.values():
            if svc.redis_url_env:
                queues.setdefault(svc.redis_url_env, set()).update(svc.queues)
        for number, env in enumerate(sorted(queues), start=1):
            url = with_redis_db(redis_url, number)
            self.environment[env] = url
            client = aioredis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
            try:
                async with client.pipeline(transaction=True) as pipe:
                    for i in range(50):
                        pipe.set(f"cache:user:{i}:profile", f'{{"id": {i}}}', ex=86_400)
                    for key in sorted(queues[env]):
                        length = QUEUE_LENGTHS.get(key, DEFAULT_QUEUE_LENGTH)
                        pipe.delete(key)  # the same length on every start, however often the shell ran
                        pipe.rpush(key, *(f'{{"job": {i}}}' for i in range(length)))
                    await pipe.execute()
            finally:
                await client.aclose()


async def _run_until_cancelled(conn: asyncpg.Connection) -> None:
    """The seeded long-running query; kill-long-queries cancelling it is the expected ending."""
    with contextlib.suppress(asyncpg.QueryCanceledError, asyncpg.ConnectionDoesNotExistError):
        await conn.execute(LONG_QUERY)
