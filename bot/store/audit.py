"""The append-only, hash-chained audit log.

Each row's hash covers its content and the previous row's hash, so editing or
deleting any row breaks the chain from there on; `verify` finds where. (Sequence
numbers may have gaps from rolled-back transactions, so only the chain is trusted.)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.runbooks.executions import AuditEntry
from bot.store.db import Connection, Database

GENESIS = "0" * 64
# Appends are serialised so every row sees its predecessor's hash.
AUDIT_LOCK_ID = 0x61756474


def _canonical(
    at: datetime,
    entry_kind: str,
    actor: str,
    channel_id: str | None,
    execution_id: str | None,
    procedure: str | None,
    detail: Any,
) -> str:
    return json.dumps(
        [at.astimezone(UTC).isoformat(), entry_kind, actor, channel_id, execution_id, procedure, detail],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )


def row_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


async def append(conn: Connection, entry: AuditEntry) -> None:
    """Append one row inside the caller's transaction (so state change and audit commit together)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", AUDIT_LOCK_ID)
    prev = await conn.fetchval("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1") or GENESIS
    at = datetime.now(UTC)
    execution_id = None if entry.execution_id is None else str(entry.execution_id)
    detail = json.loads(json.dumps(dict(entry.detail), default=str))
    digest = row_hash(
        prev, _canonical(at, entry.kind, entry.actor, entry.channel_id, execution_id, entry.procedure, detail)
    )
    await conn.execute(
        "INSERT INTO audit_log (at, kind, actor, channel_id, execution_id, procedure, detail, prev_hash, hash)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)",
        at,
        entry.kind,
        entry.actor,
        entry.channel_id,
        execution_id,
        entry.procedure,
        json.dumps(detail),
        prev,
        digest,
    )


@dataclass(frozen=True)
class VerifyReport:
    rows: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


async def verify(db: Database) -> VerifyReport:
    """Walk the chain in order; report the first row whose content or link does not match."""
    problems: list[str] = []
    prev = GENESIS
    count = 0
    async with db.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        async for row in conn.cursor(
            "SELECT seq, at, kind, actor, channel_id, execution_id, procedure, detail, prev_hash, hash"
            " FROM audit_log ORDER BY seq"
        ):
            count += 1
            seq = row["seq"]
            if row["prev_hash"] != prev:
                problems.append(f"row {seq}: does not follow the row before it (a row was changed or deleted)")
            execution_id = None if row["execution_id"] is None else str(row["execution_id"])
            canonical = _canonical(
                row["at"],
                row["kind"],
                row["actor"],
                row["channel_id"],
                execution_id,
                row["procedure"],
                json.loads(row["detail"]),
            )
            if row_hash(row["prev_hash"], canonical) != row["hash"]:
                problems.append(f"row {seq}: its content does not match its hash (edited)")
            prev = row["hash"]
            if len(problems) >= 20:
                break
    return VerifyReport(rows=count, problems=problems)
