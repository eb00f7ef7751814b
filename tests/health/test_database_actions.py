"""PostgreSQL and Redis actions and checks against the real embedded servers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis

from bot import errors
from bot.actions.postgres import database_actions
from bot.actions.registry import ActionContext, ActionRegistry
from bot.catalog import Catalog, Service
from bot.health.checks import Targets, check_postgres, check_redis, guarded
from bot.health.model import State
from bot.k8s import Kube
from bot.store.db import create_database
from bot.targets import postgres


@pytest.fixture
def registry() -> ActionRegistry:
    return ActionRegistry(database_actions())


@pytest.fixture
async def service_db(postgres_url: str, monkeypatch: pytest.MonkeyPatch, catalog: Catalog) -> Service:
    """`backend` with its DSN env var pointing at a fresh database on the embedded server."""
    dsn = await create_database(postgres_url)
    monkeypatch.setenv("MAIL_SCORE_DATABASE_URL", dsn)
    return catalog.services["backend"]


@contextlib.asynccontextmanager
async def sleeping_query(dsn: str) -> AsyncIterator[asyncio.Task[object]]:
    """A client running `pg_sleep` on the service's database until cancelled."""
    conn = await asyncpg.connect(dsn)
    watcher = await asyncpg.connect(dsn)
    task: asyncio.Task[object] = asyncio.create_task(conn.execute("SELECT pg_sleep(60)"), name="pg-sleep")
    try:
        for _ in range(500):  # wait (up to ~10 s) until the server runs the query, not a guessed time
            if await watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = 'SELECT pg_sleep(60)'"
            ):
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the sleeping query never started")
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, asyncpg.PostgresError, asyncpg.InterfaceError):
            await task
        await conn.close()
        await watcher.close()


async def test_postgres_connections_counts_client_connections(registry: ActionRegistry, service_db: Service) -> None:
    action = registry.get("postgres.connections")
    result = await action.run(ActionContext("backend", service_db), registry.validate_params(action.name, {}))
    assert result.data["in_use"] >= 1
    assert result.data["max_connections"] > 0
    assert "connections in use" in errors.plain(result.summary)


async def test_cancel_long_queries_dry_run_changes_nothing_when_nothing_is_long(
    registry: ActionRegistry, service_db: Service
) -> None:
    async with sleeping_query(os.environ["MAIL_SCORE_DATABASE_URL"]) as task:
        action = registry.get("postgres.cancel_long_queries")
        params = registry.validate_params(action.name, {"seconds": 60})
        result = await action.run(ActionContext("backend", service_db, dry_run=True), params)
        assert result.no_op  # a 0.3 s query is not longer than a minute
        assert not task.done()


async def test_cancel_long_queries_cancels_other_sessions_but_never_our_own(service_db: Service) -> None:
    dsn = os.environ["MAIL_SCORE_DATABASE_URL"]
    async with sleeping_query(dsn) as task:
        # 0 s only at the client level: the action's own bound is ≥ 1 s.
        listed = await postgres.long_queries(dsn, 0, time_limit=5)
        assert [q.query for q in listed] == ["SELECT pg_sleep(?)"]  # literals masked
        assert not task.done()  # listing (the dry run) cancels nothing
        found = await postgres.cancel_queries(dsn, [q.identity for q in listed], time_limit=5)
        assert [q.cancelled for q in found] == [True]
        with pytest.raises(asyncpg.QueryCanceledError):
            await asyncio.wait_for(task, 5)


async def test_cancelling_a_listed_query_spares_the_next_query_of_the_same_session(service_db: Service) -> None:
    """The preview listed (pid, backend_start, query_start): a later query on that pid is another query."""
    dsn = os.environ["MAIL_SCORE_DATABASE_URL"]
    conn = await asyncpg.connect(dsn)
    try:
        first = asyncio.create_task(conn.execute("SELECT pg_sleep(0.5)"), name="first-query")
        listed = await _wait_listed(dsn)
        await first
        second = asyncio.create_task(conn.execute("SELECT pg_sleep(60)"), name="second-query")
        relisted = await _wait_listed(dsn, besides=listed[0].query_start)
        assert relisted[0].pid == listed[0].pid
        assert await postgres.cancel_queries(dsn, [listed[0].identity], time_limit=5) == []
        assert not second.done(), "the query the preview never saw still runs"
        second.cancel()
        with contextlib.suppress(asyncio.CancelledError, asyncpg.PostgresError, asyncpg.InterfaceError):
            await second
    finally:
        await conn.close()


async def _wait_listed(dsn: str, besides: object = None) -> list[postgres.LongQuery]:
    async with asyncio.timeout(10):
        while True:
            listed = await postgres.long_queries(dsn, 0, time_limit=5)
            if listed and listed[0].query_start != besides:
                return listed
            await asyncio.sleep(0.02)


def test_query_text_is_shown_with_its_literals_masked_and_truncated() -> None:
    shown = postgres.mask_query(
        "SELECT * FROM payments /* by ops */ WHERE card = 4111111111111111\n AND note = 'password=hunter2'"
        " AND body = $$secret$$ AND id = $1" + " OR x = 1" * 40
    )
    assert "4111" not in shown and "hunter2" not in shown and "secret" not in shown and "ops" not in shown
    assert shown.startswith("SELECT * FROM payments WHERE card = ? AND note = '?' AND body = '?' AND id = $1")
    assert len(shown) == postgres.QUERY_SHOWN_CHARS and shown.endswith("…")


async def test_cancel_long_queries_params_are_bounded(registry: ActionRegistry) -> None:
    with pytest.raises(ValueError, match="seconds"):
        registry.validate_params("postgres.cancel_long_queries", {"seconds": 0})
    assert registry.get("postgres.cancel_long_queries").mutating


async def test_queue_depth_reads_list_and_sorted_set_queues(
    registry: ActionRegistry, redis_url: str, monkeypatch: pytest.MonkeyPatch, catalog: Catalog
) -> None:
    tag = uuid.uuid4().hex[:8]
    waiting, failed, absent = f"bull:{tag}:waiting", f"bull:{tag}:failed", f"bull:{tag}:delayed"
    service = catalog.services["email-triage"].model_copy(update={"queues": [waiting, failed, absent]})
    monkeypatch.setenv("EMAIL_TRIAGE_REDIS_URL", redis_url)
    client = aioredis.from_url(redis_url)
    try:
        await client.rpush(waiting, "a", "b", "c")
        await client.zadd(failed, {"x": 1, "y": 2})
        action = registry.get("redis.queue_depth")
        result = await action.run(ActionContext("email-triage", service), registry.validate_params(action.name, {}))
        assert result.data["queues"] == {waiting: 3, failed: 2, absent: 0}
        assert "5 jobs" in errors.plain(result.summary)
    finally:
        await client.delete(waiting, failed)
        await client.aclose()


async def test_postgres_and_redis_checks_read_the_real_servers(
    service_db: Service, redis_url: str, monkeypatch: pytest.MonkeyPatch, kube: Kube
) -> None:
    monkeypatch.setenv("EMAIL_TRIAGE_REDIS_URL", redis_url)
    async with aiohttp.ClientSession() as session:
        t = Targets(kube, session)
        pg = await check_postgres("backend", "MAIL_SCORE_DATABASE_URL", t)
        rd = await check_redis("email-triage", "EMAIL_TRIAGE_REDIS_URL", ["bull:nothing:waiting"], t)
    assert pg.state == State.OK
    assert pg.value.key == "health_postgres" and "connections" in errors.plain(pg.value)
    assert pg.value.fields["in_use"] == pg.data["in_use"] and pg.value.fields["slow"] == 0
    assert rd.state == State.OK
    assert rd.value.key == "health_redis" and "memory" in errors.plain(rd.value)
    assert (rd.value.fields["queue"], rd.value.fields["depth"]) == ("bull:nothing:waiting", 0)


async def test_unset_database_env_var_is_unknown_with_the_reason(kube: Kube) -> None:
    async with aiohttp.ClientSession() as session:
        t = Targets(kube, session)
        result = await guarded(
            "backend",
            "postgres",
            lambda: check_postgres("backend", "NO_SUCH_VAR_FOR_TEST", t),
            asyncio.Semaphore(1),
            2.0,
        )
    assert result.state == State.UNKNOWN
    assert "NO_SUCH_VAR_FOR_TEST is not set" in errors.plain(result.value)
