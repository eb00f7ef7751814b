"""`audit verify` names the row where the chain breaks, and the kind of break: on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
import uuid
from datetime import UTC, datetime

from bot.runbooks.executions import AuditEntry
from bot.store import audit
from bot.store.db import Database
from bot.store.executions import PostgresExecutionStore
from tests.store.audit_rows import append_rows, tamper


def rows_named(problems: list[str]) -> list[int]:
    return [int(n) for p in problems for n in re.findall(r"\b(\d+)\b", p)]


async def test_a_deleted_row_is_reported_at_the_row_after_it(db: Database) -> None:
    await append_rows(db, 4)  # seq 1…4 (identities restart for every test)
    await tamper(db, "DELETE FROM audit_log WHERE seq = 2")

    report = await audit.verify(db)

    assert (report.rows, rows_named(report.problems)) == (3, [3])


async def test_an_edited_row_is_reported_at_that_row(db: Database) -> None:
    await append_rows(db, 4)
    await tamper(db, "UPDATE audit_log SET actor = 'U0MALLORY' WHERE seq = 3")

    report = await audit.verify(db)

    assert rows_named(report.problems) == [3]


# A row written by an earlier version of the bot: its hash is sha256 of the previous hash and the
# canonical JSON of its fields (keys sorted, no spaces, time in UTC). Rows already in the table must
# keep verifying after an upgrade, so the canonical form may never change.
STORED_ROW = {
    "at": datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    "kind": "confirmed",
    "actor": "U0BOB",
    "channel_id": "C0OPS",
    "execution_id": "6f1c7a52-3d2e-4b8a-9c0d-1e2f3a4b5c6d",
    "procedure": "scale",
    # key order differs between sorted JSON and jsonb's own (shortest key first)
    "detail": {"zz": "approver", "a_long_key": [1, "x"], "nested": {"zz": 1, "a_long": 2}},
}
STORED_HASH = "333c19017f14322a74a8aeb47d64fc4d4638dd81e66a31113ba496ab05e02be9"


async def insert_stored_row(db: Database) -> None:
    async with db.acquire() as conn:
        await conn.execute(
            "INSERT INTO audit_log (at, kind, actor, channel_id, execution_id, procedure, detail, prev_hash, hash)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)",
            *(STORED_ROW[k] for k in ("at", "kind", "actor", "channel_id", "execution_id", "procedure")),
            json.dumps(STORED_ROW["detail"]),
            audit.GENESIS,
            STORED_HASH,
        )


async def test_a_row_written_by_an_earlier_version_still_verifies_and_the_chain_goes_on(db: Database) -> None:
    await insert_stored_row(db)
    await append_rows(db, 2)

    report = await audit.verify(db)

    assert (report.ok, report.rows) == (True, 3)


async def test_a_stored_row_verifies_whatever_the_servers_local_time_zone(db: Database) -> None:
    await insert_stored_row(db)
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    try:
        report = await audit.verify(db)
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()

    assert report.ok


async def test_appends_from_many_connections_at_once_keep_one_chain(db: Database) -> None:
    store = PostgresExecutionStore(db)

    await asyncio.gather(*(store.audit(AuditEntry(kind="denied", actor=f"U{n}")) for n in range(30)))

    report = await audit.verify(db)
    assert (report.ok, report.rows) == (True, 30)


async def test_rows_appended_under_any_local_time_zone_keep_their_true_time(db: Database) -> None:
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    try:
        await append_rows(db, 2)
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()

    async with db.acquire() as conn:
        skew = await conn.fetchval("SELECT max(abs(extract(epoch FROM now() - at))) FROM audit_log")
    assert skew < 600
    assert (await audit.verify(db)).ok


async def test_detail_values_that_are_not_json_are_written_as_text(db: Database) -> None:
    execution_id = uuid.UUID("6f1c7a52-3d2e-4b8a-9c0d-1e2f3a4b5c6d")
    when = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    store = PostgresExecutionStore(db)

    await store.audit(AuditEntry(kind="step", actor="runbook-bot", detail={"execution": execution_id, "at": when}))

    async with db.acquire() as conn:
        detail = json.loads(await conn.fetchval("SELECT detail FROM audit_log"))
    assert detail == {"execution": str(execution_id), "at": str(when)}
    assert (await audit.verify(db)).ok
