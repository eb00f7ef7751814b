"""`audit verify` names the row where the chain breaks, and the kind of break: on PostgreSQL."""

from __future__ import annotations

import re

from bot.runbooks.executions import AuditEntry
from bot.store import audit
from bot.store.db import Database


async def append_rows(db: Database, count: int) -> None:
    for n in range(count):
        async with db.transaction() as conn:
            await audit.append(conn, AuditEntry(kind="step", actor="runbook-bot", detail={"index": n}))


async def tamper(db: Database, sql: str) -> None:
    async with db.acquire() as conn:
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
        await conn.execute(sql)
        await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update")


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
