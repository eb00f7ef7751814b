"""The database a bot test gets (tests/databases.py): the previous test's copy only when emptying it
gives the template's state; anything else left behind means a new copy."""

from __future__ import annotations

import urllib.parse

import asyncpg
import pytest

from tests.databases import BotDatabases

ROW = "INSERT INTO audit_log (kind, actor, prev_hash, hash) VALUES ('request', 'U0ALICE', '', '') RETURNING seq"


async def _execute(url: str, *statements: str) -> list[object]:
    conn = await asyncpg.connect(url)
    try:
        return [await conn.fetchval(statement) for statement in statements]
    finally:
        await conn.close()


async def test_the_next_test_gets_the_copy_emptied_with_ids_from_one(postgres_url: str, migrated_template: str) -> None:
    databases = BotDatabases()
    first = await databases.fresh(postgres_url, migrated_template)
    assert await _execute(first, ROW, ROW) == [1, 2]

    second = await databases.fresh(postgres_url, migrated_template)

    assert second == first
    assert await _execute(second, "SELECT count(*) FROM audit_log", ROW) == [0, 1]


async def test_a_copy_whose_trigger_a_test_disabled_is_not_given_again(
    postgres_url: str, migrated_template: str
) -> None:
    databases = BotDatabases()
    first = await databases.fresh(postgres_url, migrated_template)
    await _execute(first, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update", ROW)

    second = await databases.fresh(postgres_url, migrated_template)

    assert second != first
    await _execute(second, ROW)
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await _execute(second, "UPDATE audit_log SET actor = 'U0MALLORY'")
    assert await _execute(first, "SELECT count(*) FROM audit_log") == [1]  # left alone


async def test_a_copy_a_session_still_uses_is_not_given_again(postgres_url: str, migrated_template: str) -> None:
    databases = BotDatabases()
    first = await databases.fresh(postgres_url, migrated_template)
    straggler = await asyncpg.connect(first)  # a replica a test left running
    try:
        await straggler.fetchval(ROW)

        second = await databases.fresh(postgres_url, migrated_template)

        assert second != first
        assert await straggler.fetchval("SELECT count(*) FROM audit_log") == 1
    finally:
        await straggler.close()


async def test_a_copy_left_refusing_connections_is_not_given_again(postgres_url: str, migrated_template: str) -> None:
    databases = BotDatabases()
    first = await databases.fresh(postgres_url, migrated_template)
    name = urllib.parse.urlsplit(first).path.lstrip("/")
    await _execute(postgres_url, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')

    second = await databases.fresh(postgres_url, migrated_template)

    assert second != first
    assert await _execute(second, "SELECT count(*) FROM audit_log") == [0]
