"""The audit log: the append-only trigger raises, and `audit verify` (and its exit code) catches tampering."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from bot.runbooks.executions import AuditEntry
from bot.settings import PROJECT_ROOT
from bot.store import audit
from bot.store.db import Database
from tests.store.audit_rows import append_rows, tamper


async def verify_exit_code(database_url: str, tmp_path: Path) -> int:
    env = {**os.environ, "DATABASE_URL": database_url, "RUNBOOK_DATA_DIR": str(tmp_path / "data"), "LOG_FORMAT": "json"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "audit",
        "verify",
        env=env,
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(process.wait(), timeout=60)


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'U0MALLORY'", "DELETE FROM audit_log"])
async def test_the_append_only_trigger_refuses_updates_and_deletes(db: Database, statement: str) -> None:
    await append_rows(db, 3)

    async with db.acquire() as conn:
        with pytest.raises(asyncpg.RaiseError):
            await conn.execute(statement)
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE actor = 'runbook-bot'") == 3


async def test_an_intact_chain_verifies(db: Database) -> None:
    await append_rows(db, 5)

    report = await audit.verify(db)

    assert report.ok
    assert report.rows == 5


@pytest.mark.parametrize("seq", [1, 3])
async def test_a_deleted_row_is_detected(db: Database, seq: int) -> None:
    await append_rows(db, 5)
    await tamper(db, f"DELETE FROM audit_log WHERE seq = (SELECT min(seq) + {seq - 1} FROM audit_log)")  # noqa: S608

    report = await audit.verify(db)

    assert not report.ok
    assert report.rows == 4


async def test_an_edited_row_is_detected(db: Database) -> None:
    await append_rows(db, 5)
    await tamper(db, "UPDATE audit_log SET detail = '{\"index\": 99}' WHERE seq = (SELECT min(seq) + 2 FROM audit_log)")

    assert not (await audit.verify(db)).ok


async def test_a_rewritten_row_with_a_fresh_hash_still_breaks_the_next_link(db: Database) -> None:
    await append_rows(db, 3)
    await tamper(db, "UPDATE audit_log SET hash = repeat('a', 64) WHERE seq = (SELECT min(seq) FROM audit_log)")

    assert not (await audit.verify(db)).ok


async def test_audit_verify_exits_zero_when_intact_and_non_zero_when_a_row_is_deleted(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    await append_rows(db, 4)
    assert await verify_exit_code(database_url, tmp_path) == 0

    await tamper(db, "DELETE FROM audit_log WHERE seq = (SELECT min(seq) + 1 FROM audit_log)")

    assert await verify_exit_code(database_url, tmp_path) == 1


async def test_verify_reports_at_most_twenty_problems(db: Database) -> None:
    await append_rows(db, 30)
    await tamper(db, "UPDATE audit_log SET actor = 'U0MALLORY'")

    report = await audit.verify(db)

    assert len(report.problems) == 20
    assert report.rows < 30  # it stopped reading there


async def test_every_field_of_a_row_is_covered_by_its_hash(db: Database) -> None:
    async with db.transaction() as conn:
        await audit.append(
            conn,
            AuditEntry(
                kind="confirmed",
                actor="U0ALICE",
                channel_id="C0OPS",
                execution_id=uuid.uuid4(),
                procedure="scale",
                detail={"as": "requester"},
            ),
        )
    for column, value in [
        ("kind", "'cancelled'"),
        ("actor", "'U0MALLORY'"),
        ("channel_id", "'C0OTHER'"),
        ("execution_id", "gen_random_uuid()"),
        ("procedure", "'rollback'"),
        ("detail", '\'{"as": "approver"}\''),
        ("at", "at + interval '1 second'"),
    ]:
        async with db.acquire() as conn:
            original = await conn.fetchrow("SELECT * FROM audit_log")
        await tamper(db, f"UPDATE audit_log SET {column} = {value}")  # noqa: S608
        assert not (await audit.verify(db)).ok, f"an edited {column} went unnoticed"
        async with db.acquire() as conn:
            await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
            await conn.execute(
                f"UPDATE audit_log SET {column} = $1",  # noqa: S608
                original[column],
            )
            await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update")
        assert (await audit.verify(db)).ok
