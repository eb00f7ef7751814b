"""The PostgreSQL adapters on a real (embedded) server, each test on a fresh database."""

from __future__ import annotations

import fcntl
import itertools
import os
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import asyncpg
import pytest

from bot.runbooks.executions import Execution, State
from bot.store.db import Database, create_database
from tests.store.statuspage_worker import fake, statuspage

__all__ = ["fake", "statuspage"]  # fixtures of the outbox tests, defined beside their worker

# One migrated database per process, emptied before each test: creating and migrating one per test
# costs seconds on a busy machine. The mutation run (scripts/mutation.py) repeats these tests in a short
# process of its own for every mutant, two at a time; it names a directory in STORE_TEST_SLOTS, and each
# process then takes a free slot (a file lock held until the process exits) and reuses that slot's
# migrated database, instead of creating one per process.
_MIGRATED: dict[tuple[int, str], str] = {}
_SLOTS = os.environ.get("STORE_TEST_SLOTS")
_held_slots: list[IO[str]] = []  # open lock files: the slot is this process's until it exits


async def _migrate(url: str) -> None:
    database = Database(url, timeout=10)
    await database.open()
    try:
        await database.migrate()
    finally:
        await database.close()


async def _slot_database(server_url: str, slots: Path) -> str:
    for slot in itertools.count():
        lock = (slots / f"store-{slot}.lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another process holds this slot
            lock.close()
            continue
        _held_slots.append(lock)
        name = f"store_slot_{slot}"
        url = urllib.parse.urlunsplit(urllib.parse.urlsplit(server_url)._replace(path=f"/{name}"))
        ready = slots / f"store-{slot}.ready"
        if not ready.exists() or ready.read_text() != server_url:  # new, half-made, or of another server
            conn = await asyncpg.connect(server_url)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()
            await _migrate(url)
            ready.write_text(server_url)
        return url
    raise AssertionError("unreachable")


async def _migrated_database(server_url: str) -> str:
    key = (os.getpid(), server_url)  # a forked process must not share its parent's database
    if key not in _MIGRATED:
        if _SLOTS:
            _MIGRATED[key] = await _slot_database(server_url, Path(_SLOTS))
        else:
            url = await create_database(server_url, prefix="store")
            await _migrate(url)
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
