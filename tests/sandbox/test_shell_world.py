"""The shell's world on the real embedded PostgreSQL and Redis: what it seeds, what its overlay points at,
and that stopping it ends every session it opened."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
import redis.asyncio as aioredis
import yaml

from bot.catalog import Catalog, load_catalog
from bot.settings import PROJECT_ROOT
from sandbox.shell_world import LONG_QUERY, ShellWorld, database_name, with_redis_db

CATALOG = PROJECT_ROOT / "chatops.yml"


@pytest.fixture
async def world(catalog: Catalog, postgres_url: str, redis_url: str) -> AsyncIterator[ShellWorld]:
    started = ShellWorld()
    try:
        await started.start(catalog, postgres_url, redis_url)
        yield started
    finally:
        await started.stop()


def test_names_and_urls_of_the_simulated_dependencies() -> None:
    assert database_name("MAIL_SCORE_DATABASE_URL") == "sandbox_mail_score"
    assert with_redis_db("unix:///tmp/r/redis.socket", 3) == "unix:///tmp/r/redis.socket?db=3"
    assert with_redis_db("redis://127.0.0.1:6379/0", 2) == "redis://127.0.0.1:6379/2"


async def test_overlay_changes_only_health_urls_and_everything_points_at_loopback(
    world: ShellWorld, tmp_path: Path
) -> None:
    overlay = world.overlay_catalog(CATALOG, tmp_path / "overlay.yml")
    original = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    changed = yaml.safe_load(overlay.read_text(encoding="utf-8"))
    for name, service in changed["services"].items():
        if "health_url" in service:
            assert urlsplit(service["health_url"]).hostname == "127.0.0.1"
            service["health_url"] = original["services"][name]["health_url"]
    assert changed == original  # the shipped catalog is otherwise used unchanged
    load_catalog(overlay)  # and still valid
    assert urlsplit(world.prometheus.url).hostname == "127.0.0.1"
    for env, value in world.environment.items():
        parts = urlsplit(value)
        assert parts.scheme == "unix" or parts.hostname in (None, "127.0.0.1", "localhost"), env
    assert "PROMETHEUS_URL" in world.describe()


async def test_each_service_database_has_idle_sessions_and_a_long_running_query(world: ShellWorld) -> None:
    dsn = world.environment["MAIL_SCORE_DATABASE_URL"]
    conn = await asyncpg.connect(dsn)
    try:
        for _ in range(250):  # wait (up to ~5 s) for the seeded query to be running, not a guessed time
            states = await conn.fetch(
                "SELECT state, query FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if any(r["state"] == "active" and r["query"] == LONG_QUERY for r in states):
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError(f"the long query never started: {states}")
        assert sum(1 for r in states if r["state"] == "idle") >= 2
        assert await conn.fetchval("SELECT count(*) FROM emails") == 200
    finally:
        await conn.close()


async def test_queues_are_seeded_with_one_over_the_warn_threshold(world: ShellWorld, catalog: Catalog) -> None:
    client = aioredis.from_url(world.environment["EMAIL_TRIAGE_REDIS_URL"])
    try:
        waiting = await client.llen("bull:campaign-emails:waiting")
        failed = await client.llen("bull:campaign-emails:failed")
    finally:
        await client.aclose()
    assert catalog.health.thresholds.queue_warn < waiting < catalog.health.thresholds.queue_fail
    assert failed == 12


async def test_stop_ends_every_session_it_opened(catalog: Catalog, postgres_url: str, redis_url: str) -> None:
    world = ShellWorld()
    await world.start(catalog, postgres_url, redis_url)
    databases = {database_name(env) for env in world.environment if env.endswith("DATABASE_URL")}
    await world.stop()
    conn = await asyncpg.connect(postgres_url)
    try:
        for _ in range(250):  # a terminated backend leaves pg_stat_activity shortly after
            left = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = ANY($1::text[])", list(databases)
            )
            if left == 0:
                break
            await asyncio.sleep(0.02)
        assert left == 0
    finally:
        await conn.close()
