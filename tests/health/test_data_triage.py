"""Issue 21, Postgres and Redis: db-activity, db-ready, terminate-queries, redis-info, clear-cache and
queue-purge actions against the real embedded servers."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
import redis.asyncio as aioredis

from bot import errors
from bot.actions.postgres import database_actions
from bot.actions.registry import ActionContext, ActionRegistry, ActionResult
from bot.catalog import Catalog, Service
from bot.targets import postgres
from tests.data_world import running

SECRET_SQL = "SELECT pg_sleep(60), 'password=hunter2' AS note, 4111111111111111 AS card"


@pytest.fixture
def registry() -> ActionRegistry:
    return ActionRegistry(database_actions())


async def run(
    registry: ActionRegistry,
    name: str,
    service: Service,
    args: dict[str, object],
    *,
    dry_run: bool = False,
    timeout_seconds: float = 10.0,
) -> ActionResult:
    ctx = ActionContext("svc", service, dry_run=dry_run, timeout_seconds=timeout_seconds)
    return await registry.get(name).run(ctx, registry.validate_params(name, args))


async def test_db_activity_lists_sessions_with_masked_queries(
    registry: ActionRegistry, backend_dsn: str, catalog: Catalog
) -> None:
    async with running(backend_dsn, SECRET_SQL) as (pid, _):
        result = await run(registry, "postgres.activity", catalog.services["backend"], {})
    row = next(s for s in result.data["sessions"] if s["pid"] == pid)
    assert row["state"] == "active"
    assert row["wait_event"] == "Timeout:PgSleep"
    assert row["user"] and row["application"] == ""
    assert "hunter2" not in str(result.data) and "4111111111111111" not in str(result.data)
    assert "hunter2" not in (result.details or "")
    assert str(pid) in (result.details or "")
    assert "pg_sleep(?)" in (result.details or "")
    assert "1 active" in errors.plain(result.summary)


async def test_db_ready_says_primary_and_version(registry: ActionRegistry, backend_dsn: str, catalog: Catalog) -> None:
    result = await run(registry, "postgres.ready", catalog.services["backend"], {})
    assert "accepting connections" in errors.plain(result.summary)
    assert "primary" in errors.plain(result.summary)
    assert result.data["in_recovery"] is False


async def test_unreachable_database_is_one_line_naming_whose(
    registry: ActionRegistry, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAIL_SCORE_DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none")
    with pytest.raises(errors.UnavailableError) as caught:
        await run(registry, "postgres.activity", catalog.services["backend"], {}, timeout_seconds=3)
    message = str(caught.value)
    assert message.startswith("the PostgreSQL of svc (MAIL_SCORE_DATABASE_URL) is unavailable")
    assert "\n" not in message


async def test_terminate_ends_only_the_previewed_sessions_still_running_the_same_query(backend_dsn: str) -> None:
    async with (
        running(backend_dsn, "SELECT pg_sleep(60)") as (kept_pid, kept),
        running(backend_dsn, "SELECT pg_sleep(60)") as (ended_pid, ended),
    ):
        listed = {q.pid: q for q in await postgres.long_queries(backend_dsn, 0, time_limit=5)}
        assert {kept_pid, ended_pid} <= set(listed)
        stale = listed[kept_pid]
        # The first session's query as the preview saw it, but with another start: it is a later query.
        identities = [
            listed[ended_pid].identity,
            (stale.pid, stale.backend_start, stale.query_start.replace(year=2000)),
        ]
        found = await postgres.terminate_queries(backend_dsn, identities, time_limit=5)
        assert [(q.pid, q.cancelled) for q in found] == [(ended_pid, True)]
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError)):
            await asyncio.wait_for(ended, 10)
        assert not kept.done()


async def test_terminate_queries_without_its_preview_terminates_nothing(
    registry: ActionRegistry, backend_dsn: str, catalog: Catalog
) -> None:
    assert registry.get("postgres.terminate_queries").mutating
    with pytest.raises(ValueError, match="seconds"):
        registry.validate_params("postgres.terminate_queries", {"seconds": 0})
    async with running(backend_dsn, "SELECT pg_sleep(60)") as (_, task):
        with pytest.raises(errors.TargetError, match="preview"):
            await run(registry, "postgres.terminate_queries", catalog.services["backend"], {"seconds": 60})
        assert not task.done()


async def test_redis_info_reports_hit_rate_memory_clients_and_evictions(
    registry: ActionRegistry, dashboard_redis: aioredis.Redis, catalog: Catalog
) -> None:
    await dashboard_redis.set("email:1", "x")
    await dashboard_redis.get("email:1")
    await dashboard_redis.get("email:missing")
    result = await run(registry, "redis.info", catalog.services["email-dashboard"], {})
    assert result.data["hit_rate"] is not None and 0 < result.data["hit_rate"] < 1
    assert result.data["clients"] >= 1
    assert result.data["used_memory"] > 0
    assert "evicted_keys" in result.data
    for label in ("hit rate", "memory", "clients", "ops/s", "evicted keys"):
        assert label in (result.details or "")


async def test_clear_cache_previews_count_and_samples_then_unlinks_only_matching_keys(
    registry: ActionRegistry, dashboard_redis: aioredis.Redis, catalog: Catalog
) -> None:
    service = catalog.services["email-dashboard"]
    await dashboard_redis.mset({f"email:{i}": "x" for i in range(1200)})
    await dashboard_redis.set("session:keep", "x")
    preview = await run(registry, "redis.clear_cache", service, {"pattern": "email:*"}, dry_run=True)
    assert preview.data["count"] == 1200 and preview.data["complete"]
    assert len(preview.data["sample"]) == 5 and all(k.startswith("email:") for k in preview.data["sample"])
    assert "Would unlink 1200 keys" in errors.plain(preview.summary)
    assert await dashboard_redis.dbsize() == 1201, "the preview deletes nothing"

    done = await run(registry, "redis.clear_cache", service, {"pattern": "email:*"})
    assert done.data["count"] == 1200
    assert await dashboard_redis.keys("*") == [b"session:keep"]


async def test_clear_cache_refuses_a_pattern_the_catalog_does_not_allow_listing_the_allowed(
    registry: ActionRegistry, dashboard_redis: aioredis.Redis, catalog: Catalog
) -> None:
    await dashboard_redis.set("session:keep", "x")
    with pytest.raises(errors.UserError, match=r"allowed: `email:\*`"):
        await run(registry, "redis.clear_cache", catalog.services["email-dashboard"], {"pattern": "*"}, dry_run=True)
    assert await dashboard_redis.exists("session:keep")


async def test_queue_purge_empties_one_catalog_queue(
    registry: ActionRegistry, dashboard_redis: aioredis.Redis, catalog: Catalog
) -> None:
    service = catalog.services["email-dashboard"]
    await dashboard_redis.rpush("export:queue", "a", "b", "c")
    await dashboard_redis.rpush("export:other", "a")
    preview = await run(registry, "redis.purge_queue", service, {"queue": "export:queue"}, dry_run=True)
    assert preview.data["jobs"] == 3 and await dashboard_redis.llen("export:queue") == 3
    with pytest.raises(errors.UserError, match="allowed: `export:queue`"):
        await run(registry, "redis.purge_queue", service, {"queue": "export:other"})
    done = await run(registry, "redis.purge_queue", service, {"queue": "export:queue"})
    assert done.data["jobs"] == 3
    assert await dashboard_redis.exists("export:queue") == 0
    assert await dashboard_redis.llen("export:other") == 1


async def test_unreachable_redis_is_one_line_naming_whose(
    registry: ActionRegistry, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMAIL_DASHBOARD_REDIS_URL", f"unix:///nonexistent/{uuid.uuid4().hex}.sock")
    with pytest.raises(errors.UnavailableError) as caught:
        await run(registry, "redis.info", catalog.services["email-dashboard"], {}, timeout_seconds=3)
    assert str(caught.value).startswith("the Redis of svc (EMAIL_DASHBOARD_REDIS_URL) is unavailable")
    assert "\n" not in str(caught.value)
