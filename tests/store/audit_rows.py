"""Rows for the audit tests to verify, and the tampering they must catch."""

from __future__ import annotations

from bot.runbooks.executions import AuditEntry
from bot.store import audit
from bot.store.db import Database


async def append_rows(db: Database, count: int) -> None:
    for n in range(count):
        async with db.transaction() as conn:
            await audit.append(conn, AuditEntry(kind="step", actor="runbook-bot", detail={"index": n}))


async def tamper(db: Database, sql: str) -> None:
    """What a superuser could do: switch the trigger off, change history, switch it back on."""
    async with db.acquire() as conn:
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
        await conn.execute(sql)
        await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update")
