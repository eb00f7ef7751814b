"""The PostgreSQL adapters on a real (embedded) server, each test on a fresh database."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from bot.runbooks.executions import Execution, State
from bot.store.db import Database, create_database

# One migrated database per process, emptied before each test: creating and migrating one per test
# costs seconds on a busy machine, and the mutation run repeats these tests for every mutant (each in
# a process of its own, forked after this cache was filled, hence the key).
_MIGRATED: dict[tuple[int, str], str] = {}


async def _migrated_database(server_url: str) -> str:
    key = (os.getpid(), server_url)
    if key not in _MIGRATED:
        url = await create_database(server_url, prefix="store")
        database = Database(url, timeout=10)
        await database.open()
        try:
            await database.migrate()
        finally:
            await database.close()
        _MIGRATED[key] = url
    return _MIGRATED[key]


@pytest.fixture
async def database_url(postgres_url: str) -> str:
    """A migrated database with every table empty (overrides the suite's fresh-database fixture)."""
    url = await _migrated_database(postgres_url)
    conn = await asyncpg.connect(url)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
            )
        ]
        await conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
    return url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, timeout=10, max_size=12)
    await database.open()
    yield database
    await database.close()


def new_execution(*, expires_in: timedelta = timedelta(minutes=5)) -> Execution:
    now = datetime.now(UTC)
    return Execution(
        id=uuid.uuid4(),
        procedure="scale",
        args={"service": "backend", "replicas": 5},
        service="backend",
        lock_key="default/mail-score-production/deployment/mail-score-backend",
        requester="U0ALICE",
        channel_id="C0OPS",
        approval="none",
        state=State.PENDING,
        created_at=now,
        expires_at=now + expires_in,
    )
