"""The outbox worker on a real store and a real Statuspage client, against the Statuspage fake over HTTP
(the fixtures are offered to tests/store by its conftest)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.comms.outbox import OutboxWorker
from bot.store.db import Database
from bot.store.outbox import PostgresOutboxStore
from bot.targets.statuspage import Statuspage
from sandbox.statuspage_fake import StatuspageFake

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
SP_KEY_ENV, SP_KEY = "STORE_TEST_STATUSPAGE_KEY", "sp-store-test-key"


@pytest.fixture
async def fake() -> AsyncIterator[StatuspageFake]:
    async with StatuspageFake(SP_KEY) as started:
        started.add_page("page1", {"cmp1": "Mail Score API"})
        yield started


@pytest.fixture
async def statuspage(monkeypatch: pytest.MonkeyPatch, fake: StatuspageFake) -> AsyncIterator[Statuspage]:
    monkeypatch.setenv(SP_KEY_ENV, SP_KEY)
    client = Statuspage(fake.url, api_key_env=SP_KEY_ENV, timeout=5)
    yield client
    await client.close()


def worker(db: Database, statuspage: Statuspage, at: datetime, lease: timedelta = LEASE) -> OutboxWorker:
    return OutboxWorker(
        PostgresOutboxStore(db), statuspage, None, lambda: at, backoff_seconds=1, backoff_max_seconds=1, lease=lease
    )
