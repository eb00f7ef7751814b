"""Incidents and their timeline in PostgreSQL. The only module that holds incident SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from bot.comms.outbox import Outbound
from bot.comms.records import Incident, IncidentEvent
from bot.store.db import Database
from bot.store.outbox import insert_outbound

_ADD_EVENT = "INSERT INTO incident_events (incident_id, at, kind, actor, text) VALUES ($1, $2, $3, $4, $5)"
# The only interpolation into SQL below is this constant column list; values are always $n parameters.
_COLUMNS = (
    "id, title, severity, impact, services, lead, declared_by, state, channel_id, message_ts,"
    " root_cause, resolution, declared_at, resolved_at"
)


def _incident(row: asyncpg.Record) -> Incident:
    return Incident(**{**dict(row), "services": tuple(row["services"])})


class PostgresIncidentStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        *,
        title: str,
        severity: str,
        impact: str,
        services: Sequence[str],
        lead: str,
        declared_by: str,
        channel_id: str,
        at: datetime,
        outbox: Sequence[Outbound] = (),
    ) -> Incident:
        # The incident, its first timeline entry and the calls it causes (paging) are one fact: all or none.
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(
                "INSERT INTO incidents (title, severity, impact, services, lead, declared_by, channel_id,"
                f" declared_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_COLUMNS}",
                title,
                severity,
                impact,
                list(services),
                lead,
                declared_by,
                channel_id,
                at,
            )
            assert row is not None
            await conn.execute(
                _ADD_EVENT,
                row["id"],
                at,
                "declared",
                declared_by,
                title,
            )
            await insert_outbound(conn, row["id"], outbox, at=at)
        return _incident(row)

    async def get(self, incident_id: int) -> Incident | None:
        async with self._db.acquire() as conn:
            row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM incidents WHERE id = $1", incident_id)
        return _incident(row) if row is not None else None

    async def set_message(self, incident_id: int, ts: str) -> None:
        async with self._db.acquire() as conn:
            await conn.execute("UPDATE incidents SET message_ts = $2 WHERE id = $1", incident_id, ts)

    async def add_event(self, incident_id: int, *, at: datetime, kind: str, actor: str, text: str = "") -> None:
        async with self._db.acquire() as conn:
            await conn.execute(
                _ADD_EVENT,
                incident_id,
                at,
                kind,
                actor,
                text,
            )

    async def resolve(
        self,
        incident_id: int,
        *,
        at: datetime,
        actor: str,
        root_cause: str,
        resolution: str,
        outbox: Sequence[Outbound] = (),
    ) -> Incident | None:
        """open → resolved, once: a second resolve (double submit, two people) gets None."""
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(
                "UPDATE incidents SET state = 'resolved', resolved_at = $2, root_cause = $3, resolution = $4"
                f" WHERE id = $1 AND state = 'open' RETURNING {_COLUMNS}",
                incident_id,
                at,
                root_cause,
                resolution,
            )
            if row is None:
                return None
            await conn.execute(
                _ADD_EVENT,
                incident_id,
                at,
                "resolved",
                actor,
                root_cause,
            )
            await insert_outbound(conn, incident_id, outbox, at=at)
        return _incident(row)

    async def recent(self, *, open_only: bool, limit: int = 20) -> list[Incident]:
        async with self._db.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM incidents WHERE ($1 = false OR state = 'open')"
                " ORDER BY declared_at DESC LIMIT $2",
                open_only,
                limit,
            )
        return [_incident(r) for r in rows]

    async def timeline(self, incident_id: int) -> list[IncidentEvent]:
        async with self._db.acquire() as conn:
            rows = await conn.fetch(
                "SELECT at, kind, actor, text FROM incident_events WHERE incident_id = $1 ORDER BY seq",
                incident_id,
            )
        return [IncidentEvent(r["at"], r["kind"], r["actor"], r["text"]) for r in rows]
