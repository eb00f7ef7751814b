"""PostgreSQL implementation of the ExecutionStore port: every state change commits with its audit row."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg

from bot.runbooks.executions import AuditEntry, Execution, State, StepRecord
from bot.store import audit
from bot.store.db import Database

_COLUMNS = (
    "id, procedure, args, service, lock_key, requester, team_id, channel_id, message_ts, response_url,"
    " approval, state, approver, preview, steps, error, created_at, expires_at, started_at, finished_at, command"
)


def _from_row(row: asyncpg.Record) -> Execution:
    preview = row["preview"]
    return Execution(
        id=row["id"],
        procedure=row["procedure"],
        args=json.loads(row["args"]),
        service=row["service"],
        lock_key=row["lock_key"],
        requester=row["requester"],
        team_id=row["team_id"],
        channel_id=row["channel_id"],
        message_ts=row["message_ts"],
        response_url=row["response_url"],
        approval=row["approval"],
        state=State(row["state"]),
        approver=row["approver"],
        preview=None if preview is None else json.loads(preview),
        steps=tuple(StepRecord(**s) for s in json.loads(row["steps"])),
        error=row["error"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        command=row["command"],
    )


class PostgresExecutionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, execution: Execution, audit_entries: Sequence[AuditEntry]) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO executions (id, procedure, args, service, lock_key, requester, team_id,"
                " channel_id, message_ts, response_url, approval, state, preview, created_at, expires_at, command)"
                " VALUES ($1,$2,$3::jsonb,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13::jsonb,$14,$15,$16)",
                execution.id,
                execution.procedure,
                json.dumps(dict(execution.args)),
                execution.service,
                execution.lock_key,
                execution.requester,
                execution.team_id,
                execution.channel_id,
                execution.message_ts,
                execution.response_url,
                execution.approval,
                execution.state.value,
                None if execution.preview is None else json.dumps(dict(execution.preview)),
                execution.created_at,
                execution.expires_at,
                execution.command,
            )
            for entry in audit_entries:
                await audit.append(conn, entry)

    async def get(self, execution_id: uuid.UUID) -> Execution | None:
        async with self._db.acquire() as conn:
            row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM executions WHERE id = $1", execution_id)
        return None if row is None else _from_row(row)

    async def set_message(self, execution_id: uuid.UUID, channel_id: str, message_ts: str) -> None:
        async with self._db.acquire() as conn:
            await conn.execute(
                "UPDATE executions SET channel_id = $2, message_ts = $3 WHERE id = $1",
                execution_id,
                channel_id,
                message_ts,
            )

    async def _transition(self, sql: str, args: Sequence[Any], entry: AuditEntry) -> Execution | None:
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(sql, *args)
            if row is None:
                return None
            await audit.append(conn, entry)
        return _from_row(row)

    async def claim(self, execution_id: uuid.UUID, *, approver: str, owner: str, audit: AuditEntry) -> Execution | None:
        # The single statement that makes a confirmation run exactly once.
        return await self._transition(
            "UPDATE executions SET state = 'running', approver = $2, owner = $3,"
            " started_at = now(), heartbeat_at = now()"
            f" WHERE id = $1 AND state = 'pending' AND expires_at > now() RETURNING {_COLUMNS}",
            (execution_id, approver, owner),
            audit,
        )

    async def unclaim(self, execution_id: uuid.UUID, audit: AuditEntry) -> None:
        await self._transition(
            "UPDATE executions SET state = 'pending', approver = NULL, owner = NULL, started_at = NULL"
            f" WHERE id = $1 AND state = 'running' RETURNING {_COLUMNS}",
            (execution_id,),
            audit,
        )

    async def record_step(self, execution_id: uuid.UUID, step: StepRecord, audit_entry: AuditEntry) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE executions SET steps = steps || $2::jsonb, heartbeat_at = now() WHERE id = $1",
                execution_id,
                json.dumps([step.__dict__]),
            )
            await audit.append(conn, audit_entry)

    async def heartbeat(self, execution_id: uuid.UUID) -> None:
        async with self._db.acquire() as conn:
            await conn.execute(
                "UPDATE executions SET heartbeat_at = now() WHERE id = $1 AND state = 'running'", execution_id
            )

    async def finish(
        self, execution_id: uuid.UUID, state: State, *, error: str | None, audit: AuditEntry
    ) -> Execution | None:
        return await self._transition(
            "UPDATE executions SET state = $2, error = $3, finished_at = now()"
            f" WHERE id = $1 AND state = 'running' RETURNING {_COLUMNS}",
            (execution_id, state.value, error),
            audit,
        )

    async def cancel(self, execution_id: uuid.UUID, audit: AuditEntry) -> Execution | None:
        return await self._transition(
            "UPDATE executions SET state = 'cancelled', finished_at = now()"
            f" WHERE id = $1 AND state = 'pending' RETURNING {_COLUMNS}",
            (execution_id,),
            audit,
        )

    async def _sweep(self, sql: str, kind: str, detail: dict[str, Any]) -> list[Execution]:
        async with self._db.transaction() as conn:
            rows = await conn.fetch(sql)
            for row in rows:
                await audit.append(
                    conn,
                    AuditEntry(
                        kind=kind,
                        actor="runbook-bot",
                        channel_id=row["channel_id"],
                        execution_id=row["id"],
                        procedure=row["procedure"],
                        detail=detail,
                    ),
                )
        return [_from_row(r) for r in rows]

    async def expire_due(self) -> list[Execution]:
        return await self._sweep(
            "UPDATE executions SET state = 'expired', finished_at = now()"
            f" WHERE state = 'pending' AND expires_at <= now() RETURNING {_COLUMNS}",
            "expired",
            {"reason": "not confirmed in time"},
        )

    async def interrupt_orphans(self, *, stale_after_seconds: float) -> list[Execution]:
        # A running execution whose replica stopped sending heartbeats was cut off by a crash.
        return await self._sweep(
            "UPDATE executions SET state = 'interrupted', finished_at = now(),"
            " error = 'the bot lost track of this run (it stopped, or could not record the end); it was not re-run'"
            f" WHERE state = 'running' AND heartbeat_at < now() - make_interval(secs => {float(stale_after_seconds)})"
            f" RETURNING {_COLUMNS}",
            "interrupted",
            {"reason": "bot restarted while running"},
        )

    async def recent(self, *, service: str | None, limit: int) -> list[Execution]:
        async with self._db.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM executions WHERE ($1::text IS NULL OR service = $1)"
                " ORDER BY created_at DESC LIMIT $2",
                service,
                limit,
            )
        return [_from_row(r) for r in rows]

    async def last_started(self, lock_key: str) -> Execution | None:
        async with self._db.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM executions WHERE lock_key = $1 AND started_at IS NOT NULL"
                " ORDER BY started_at DESC LIMIT 1",
                lock_key,
            )
        return None if row is None else _from_row(row)

    async def audit(self, entry: AuditEntry) -> None:
        async with self._db.transaction() as conn:
            await audit.append(conn, entry)
