"""What the shell tests share."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
async def servers(database_url: str, redis_url: str) -> dict[str, str]:
    """The session's PostgreSQL (a fresh database) and Redis, so most shell runs skip starting their own;
    the scale tutorial alone runs on embedded defaults, as the README's first command does."""
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "REDIS_PREFIX": f"shell-{uuid.uuid4().hex[:8]}:"}
