"""The outbox and the status page drafts in PostgreSQL (migrations 009, 010). The only module with their SQL.

`insert_outbound` is called inside the transaction of the incident change that causes the call
(bot/store/incidents.py, `decide_draft` below): the change and its outbox rows commit together.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from bot.comms.maintenance_public import CONFIRMABLE_IN
from bot.comms.outbox import STATUSPAGE_EVENT, Claimed, ClaimedWindow, Outbound, Outcome, WindowOutcome
from bot.comms.public import PUBLIC_EVENT, PublicDraft
from bot.store.db import Connection, Database

_ADD_EVENT = "INSERT INTO incident_events (incident_id, at, kind, actor, text) VALUES ($1, $2, $3, $4, $5)"
_DRAFT_COLUMNS = "id, incident_id, action, payload, requested_by, state, channel_id, message_ts, maintenance_id"
_ADD_WINDOW_EVENT = (
    "INSERT INTO maintenance_events (maintenance_id, at, kind, actor, action, outcome, detail)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
ACTOR = "bot"


# How an attempt ends a row: its state, why, when it is due again; the lease ends.
_END_ATTEMPT = (
    "UPDATE outbox SET state = $2, last_error = $3, claimed_until = NULL,"
    " next_attempt_at = COALESCE($4, next_attempt_at),"
    " delivered_at = CASE WHEN $2 = 'delivered' THEN $5 ELSE delivered_at END WHERE id = $1"
)


async def insert_outbound(conn: Connection, incident_id: int, items: Sequence[Outbound], *, at: datetime) -> None:
    await _insert_rows(conn, "incident_id", incident_id, items, at)


async def insert_window_outbound(conn: Connection, window_id: int, items: Sequence[Outbound], *, at: datetime) -> None:
    await _insert_rows(conn, "maintenance_id", window_id, items, at)


async def _insert_rows(
    conn: Connection, subject: str, subject_id: int, items: Sequence[Outbound], at: datetime
) -> None:
    for item in items:
        await conn.execute(
            f"INSERT INTO outbox ({subject}, target, action, payload, created_at, next_attempt_at)"
            " VALUES ($1, $2, $3, $4::jsonb, $5, $5)",
            subject_id,
            item.target,
            item.action,
            json.dumps(dict(item.payload)),
            at,
        )


def _draft(row: asyncpg.Record) -> PublicDraft:
    return PublicDraft(**{**dict(row), "payload": json.loads(row["payload"])})


class PostgresOutboxStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # ---- the worker ----------------------------------------------------------------------------

    async def claim_next(self, now: datetime, *, lease: timedelta) -> Claimed | None:
        # A row waits while an earlier row of its incident, target and page is pending, so order is kept.
        row = await self._claim(
            now,
            lease,
            subject="incident_id",
            same_queue="AND e.payload ->> 'page_id' IS NOT DISTINCT FROM o.payload ->> 'page_id'",
            statuspage_id="SELECT s.statuspage_incident_id FROM statuspage_incidents s"
            " WHERE s.incident_id = outbox.incident_id AND s.page_id = outbox.payload ->> 'page_id'",
        )
        return None if row is None else Claimed(**row)

    async def _claim(
        self, now: datetime, lease: timedelta, *, subject: str, same_queue: str, statuspage_id: str
    ) -> dict[str, Any] | None:
        # One statement: the row is locked (SKIP LOCKED: another replica takes the next one) and leased.
        # Incidents' and windows' rows are claimed apart (`subject` names which), each in order.
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(
                "UPDATE outbox SET attempts = attempts + 1, claimed_until = $2"
                " WHERE id = (SELECT o.id FROM outbox o WHERE o.state = 'pending' AND o.next_attempt_at <= $1"
                f"   AND (o.claimed_until IS NULL OR o.claimed_until < $1) AND o.{subject} IS NOT NULL"
                f"   AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.{subject} = o.{subject}"
                f"                   AND e.target = o.target AND e.id < o.id AND e.state = 'pending' {same_queue})"
                "   ORDER BY o.next_attempt_at, o.id LIMIT 1 FOR UPDATE SKIP LOCKED)"
                f" RETURNING id, {subject}, target, action, payload, attempts, idempotency_key::text,"
                f"   ({statuspage_id}) AS statuspage_incident_id",
                now,
                now + lease,
            )
        return None if row is None else {**dict(row), "payload": json.loads(row["payload"])}

    async def finish(self, item: Claimed, outcome: Outcome, *, at: datetime) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(_END_ATTEMPT, item.id, outcome.state, outcome.error, outcome.next_attempt_at, at)
            if outcome.statuspage_incident_id:
                await conn.execute(
                    "INSERT INTO statuspage_incidents (incident_id, page_id, statuspage_incident_id)"
                    " VALUES ($1, $2, $3) ON CONFLICT (incident_id, page_id) DO NOTHING",
                    item.incident_id,
                    str(item.payload["page_id"]),
                    outcome.statuspage_incident_id,
                )
            if outcome.event_text:
                await conn.execute(_ADD_EVENT, item.incident_id, at, outcome.event_kind, ACTOR, outcome.event_text)

    async def claim_next_window(self, now: datetime, *, lease: timedelta) -> ClaimedWindow | None:
        # One window's rows in order; its scheduled maintenance's id is kept on the window.
        row = await self._claim(
            now,
            lease,
            subject="maintenance_id",
            same_queue="",
            statuspage_id="SELECT statuspage_incident_id FROM maintenance_windows m WHERE m.id = outbox.maintenance_id",
        )
        return None if row is None else ClaimedWindow(**row)

    async def finish_window(self, item: ClaimedWindow, outcome: WindowOutcome, *, at: datetime) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(_END_ATTEMPT, item.id, outcome.state, outcome.error, outcome.next_attempt_at, at)
            if outcome.statuspage_incident_id:
                await conn.execute(
                    "UPDATE maintenance_windows SET statuspage_incident_id = $2 WHERE id = $1",
                    item.maintenance_id,
                    outcome.statuspage_incident_id,
                )
            if outcome.noted:
                await conn.execute(
                    _ADD_WINDOW_EVENT,
                    item.maintenance_id,
                    at,
                    STATUSPAGE_EVENT,
                    ACTOR,
                    item.action,
                    outcome.outcome,
                    outcome.error or "",
                )

    # ---- status page drafts --------------------------------------------------------------------

    async def create_draft(
        self, incident_id: int, *, action: str, payload: Mapping[str, Any], requested_by: str, at: datetime
    ) -> PublicDraft:
        return await self._create_draft("incident_id", incident_id, action, payload, requested_by, at)

    async def _create_draft(
        self, subject: str, subject_id: int, action: str, payload: Mapping[str, Any], requested_by: str, at: datetime
    ) -> PublicDraft:
        async with self._db.acquire() as conn:
            row = await conn.fetchrow(
                f"INSERT INTO public_drafts ({subject}, action, payload, requested_by, created_at)"
                f" VALUES ($1, $2, $3::jsonb, $4, $5) RETURNING {_DRAFT_COLUMNS}",
                subject_id,
                action,
                json.dumps(dict(payload)),
                requested_by,
                at,
            )
        assert row is not None
        return _draft(row)

    async def set_draft_message(self, draft_id: int, *, channel_id: str, ts: str) -> None:
        async with self._db.acquire() as conn:
            await conn.execute(
                "UPDATE public_drafts SET channel_id = $2, message_ts = $3 WHERE id = $1", draft_id, channel_id, ts
            )

    async def get_draft(self, draft_id: int) -> PublicDraft | None:
        async with self._db.acquire() as conn:
            row = await conn.fetchrow(f"SELECT {_DRAFT_COLUMNS} FROM public_drafts WHERE id = $1", draft_id)
        return _draft(row) if row is not None else None

    async def decide_draft(
        self, draft_id: int, *, confirm: bool, by: str, at: datetime, event_text: str, outbox: Sequence[Outbound]
    ) -> PublicDraft | None:
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(
                "UPDATE public_drafts SET state = $2, decided_by = $3, decided_at = $4"
                f" WHERE id = $1 AND state = 'pending' RETURNING {_DRAFT_COLUMNS}",
                draft_id,
                "confirmed" if confirm else "cancelled",
                by,
                at,
            )
            if row is None:
                return None
            draft = _draft(row)
            if draft.maintenance_id is not None:  # a maintenance window's step: its own timeline and rows
                state = await conn.fetchval(
                    "SELECT state FROM maintenance_windows WHERE id = $1 FOR UPDATE", draft.maintenance_id
                )
                if confirm and state not in CONFIRMABLE_IN[draft.action]:  # the window moved on since the preview
                    await conn.execute("UPDATE public_drafts SET state = 'cancelled' WHERE id = $1", draft_id)
                    return None
                outcome = "confirmed" if confirm else "cancelled"
                await conn.execute(_ADD_WINDOW_EVENT, draft.maintenance_id, at, "public", by, draft.action, outcome, "")
                await insert_window_outbound(conn, draft.maintenance_id, outbox, at=at)
                return draft
            assert draft.incident_id is not None  # the subject CHECK: a draft has a window or an incident
            await conn.execute(_ADD_EVENT, draft.incident_id, at, PUBLIC_EVENT, by, event_text)
            await insert_outbound(conn, draft.incident_id, outbox, at=at)
        return draft

    async def is_public(self, incident_id: int) -> bool:
        return await self._create_confirmed("incident_id", incident_id)

    async def _create_confirmed(self, subject: str, subject_id: int) -> bool:
        async with self._db.acquire() as conn:
            found = await conn.fetchval(
                f"SELECT EXISTS (SELECT 1 FROM public_drafts WHERE {subject} = $1"
                " AND action = 'create' AND state = 'confirmed')",
                subject_id,
            )
        return bool(found)

    async def public_pages(self, incident_id: int) -> list[str]:
        async with self._db.acquire() as conn:
            rows = await conn.fetch(
                "SELECT payload ->> 'page_id' AS page_id, min(id) AS first FROM outbox"
                " WHERE incident_id = $1 AND target = 'statuspage' AND action = 'create' AND state <> 'refused'"
                " GROUP BY 1 ORDER BY first",
                incident_id,
            )
        return [r["page_id"] for r in rows]

    # ---- maintenance windows on the status page -------------------------------------------------

    async def create_window_draft(
        self, window_id: int, *, action: str, payload: Mapping[str, Any], requested_by: str, at: datetime
    ) -> PublicDraft:
        return await self._create_draft("maintenance_id", window_id, action, payload, requested_by, at)

    async def window_is_public(self, window_id: int) -> bool:
        return await self._create_confirmed("maintenance_id", window_id)
