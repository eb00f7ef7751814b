"""Maintenance windows in PostgreSQL. The only module that holds maintenance SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from bot.comms.outbox import STATUSPAGE_EVENT
from bot.comms.records import MaintenanceWindow, WindowEvent
from bot.store.db import Database

# The only interpolation into SQL below is this constant column list; values are always $n parameters.
_COLUMNS = (
    "id, purpose, services, starts_at, ends_at, state, channel_id, created_by, created_at, cancelled_by, message_ts"
)


def _window(row: asyncpg.Record) -> MaintenanceWindow:
    return MaintenanceWindow(**{**dict(row), "services": tuple(row["services"])})


class PostgresMaintenanceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        *,
        purpose: str,
        services: Sequence[str],
        starts_at: datetime,
        ends_at: datetime,
        channel_id: str,
        created_by: str,
        at: datetime,
    ) -> MaintenanceWindow:
        async with self._db.acquire() as conn:
            row = await conn.fetchrow(
                "INSERT INTO maintenance_windows (purpose, services, starts_at, ends_at, channel_id,"
                f" created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLUMNS}",
                purpose,
                list(services),
                starts_at,
                ends_at,
                channel_id,
                created_by,
                at,
            )
        assert row is not None
        return _window(row)

    async def get(self, window_id: int) -> MaintenanceWindow | None:
        async with self._db.acquire() as conn:
            row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM maintenance_windows WHERE id = $1", window_id)
        return _window(row) if row is not None else None

    async def move(
        self, window_id: int, *, from_states: Sequence[str], to: str, cancelled_by: str | None = None
    ) -> MaintenanceWindow | None:
        """One atomic state change; None when the window was not in one of `from_states`."""
        async with self._db.acquire() as conn:
            row = await conn.fetchrow(
                "UPDATE maintenance_windows SET state = $3, cancelled_by = COALESCE($4, cancelled_by)"
                f" WHERE id = $1 AND state = ANY($2::text[]) RETURNING {_COLUMNS}",
                window_id,
                list(from_states),
                to,
                cancelled_by,
            )
        return _window(row) if row is not None else None

    async def upcoming(self, *, limit: int = 20) -> list[MaintenanceWindow]:
        async with self._db.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM maintenance_windows WHERE state IN ('scheduled', 'in_progress')"
                " ORDER BY starts_at LIMIT $1",
                limit,
            )
        return [_window(r) for r in rows]

    async def reschedule(self, window_id: int, *, starts_at: datetime, ends_at: datetime) -> MaintenanceWindow | None:
        async with self._db.acquire() as conn:
            row = await conn.fetchrow(
                "UPDATE maintenance_windows SET starts_at = $2, ends_at = $3"
                f" WHERE id = $1 AND state = 'scheduled' RETURNING {_COLUMNS}",
                window_id,
                starts_at,
                ends_at,
            )
        return _window(row) if row is not None else None

    async def set_message(self, window_id: int, ts: str) -> None:
        async with self._db.acquire() as conn:
            await conn.execute("UPDATE maintenance_windows SET message_ts = $2 WHERE id = $1", window_id, ts)

    async def latest_status_page_events(self, window_ids: Sequence[int]) -> dict[int, WindowEvent]:
        async with self._db.acquire() as conn:
            rows = await conn.fetch(
                "SELECT DISTINCT ON (maintenance_id) maintenance_id, at, kind, actor, action, outcome, detail"
                " FROM maintenance_events WHERE maintenance_id = ANY($1::bigint[]) AND kind = $2"
                " ORDER BY maintenance_id, seq DESC",
                list(window_ids),
                STATUSPAGE_EVENT,
            )
        return {
            r["maintenance_id"]: WindowEvent(**{k: v for k, v in dict(r).items() if k != "maintenance_id"})
            for r in rows
        }
