"""The PostgreSQL adapters on a real (embedded) server, each test on a fresh database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.runbooks.executions import Execution, State
from bot.store.db import Database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, timeout=10, max_size=12)
    await database.open()
    await database.migrate()
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
