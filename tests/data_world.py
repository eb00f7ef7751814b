"""The services' own data for the data-command tests: backend's database (its `postgres_dsn_env`) and
email-dashboard's Redis (its `redis_url_env`), both on the embedded servers, sessions that run a query
until a test is done with them, and the Prometheus fake. tests/conftest.py loads the fixtures."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import pytest
import redis.asyncio as aioredis

from bot.store.db import create_database
from bot.targets import postgres
from sandbox.prometheus_fake import PrometheusFake

DASHBOARD_REDIS_DB = 11  # a database of the embedded Redis that no other test uses


@pytest.fixture
async def backend_dsn(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """backend's own database, fresh (its postgres_dsn_env, read when a step runs)."""
    dsn = await create_database(postgres_url)
    monkeypatch.setenv("MAIL_SCORE_DATABASE_URL", dsn)
    return dsn


@pytest.fixture
async def dashboard_redis(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[aioredis.Redis]:
    """email-dashboard's Redis, emptied before and after."""
    url = f"{redis_url}?db={DASHBOARD_REDIS_DB}"
    monkeypatch.setenv("EMAIL_DASHBOARD_REDIS_URL", url)
    client = aioredis.from_url(url)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def prom() -> AsyncIterator[PrometheusFake]:
    """The Prometheus fake on a free loopback port (backend's error rate over its fail threshold)."""
    fake = PrometheusFake()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@contextlib.asynccontextmanager
async def running(dsn: str, sql: str) -> AsyncIterator[tuple[int, asyncio.Task[object]]]:
    """A session running `sql` until the block ends: its pid and the task awaiting it. The block starts
    once the server runs the query, not after a guessed time."""
    conn = await asyncpg.connect(dsn)
    pid = conn.get_server_pid()
    task: asyncio.Task[object] = asyncio.create_task(conn.execute(sql), name=f"query-{pid}")
    try:
        async with asyncio.timeout(10):
            while True:
                if pid in [s.pid for s in await postgres.activity(dsn, time_limit=5) if s.state == "active"]:
                    break
                await asyncio.sleep(0.02)
        yield pid, task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, asyncpg.PostgresError, asyncpg.InterfaceError):
            await task
        await conn.close(timeout=5)


async def older_than(dsn: str, pid: int, seconds: int) -> None:
    """Until PostgreSQL sees the query of `pid` as running for more than `seconds` (bounded)."""
    async with asyncio.timeout(seconds + 60):
        while True:
            if pid in [q.pid for q in await postgres.long_queries(dsn, seconds, time_limit=5)]:
                return
            await asyncio.sleep(0.2)
