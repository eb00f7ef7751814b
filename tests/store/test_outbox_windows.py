"""The outbox rows of maintenance windows in PostgreSQL (migration 011): claimed apart from incidents'
rows, one window's rows in order, and the Statuspage id of a delivered create kept on the window."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from bot.comms.outbox import STATUSPAGE, Outbound, WindowOutcome
from bot.store.db import Database
from bot.store.maintenance import PostgresMaintenanceStore
from bot.store.outbox import PostgresOutboxStore, insert_window_outbound

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


async def window_with(db: Database, *outbox: Outbound) -> int:
    window = await PostgresMaintenanceStore(db).create(
        purpose="Postgres upgrade",
        services=["backend"],
        starts_at=NOW + timedelta(days=1),
        ends_at=NOW + timedelta(days=1, hours=2),
        channel_id="C0INCIDENTS",
        created_by="U0ALICE",
        at=NOW,
    )
    async with db.transaction() as conn:
        await insert_window_outbound(conn, window.id, outbox, at=NOW)
    return window.id


async def test_a_windows_rows_are_claimed_apart_from_incidents_and_in_order(db: Database) -> None:
    window_id = await window_with(
        db,
        Outbound(STATUSPAGE, "create", {"page_id": "p", "incident": {"status": "scheduled"}}),
        Outbound(STATUSPAGE, "cancel", {"page_id": "p", "incident": {"status": "completed"}}),
    )
    first, second = PostgresOutboxStore(db), PostgresOutboxStore(db)
    assert await first.claim_next(NOW, lease=LEASE) is None  # the incidents' claim leaves windows alone
    claims = await asyncio.gather(*(s.claim_next_window(NOW, lease=LEASE) for s in (first, second, first)))
    (create,) = [c for c in claims if c is not None]  # one replica gets it; the cancel waits for it
    assert create.action == "create" and create.maintenance_id == window_id and create.statuspage_incident_id is None
    await first.finish_window(
        create, WindowOutcome("delivered", "delivered", noted=True, statuspage_incident_id="spm1"), at=NOW
    )
    cancel = await first.claim_next_window(NOW, lease=LEASE)
    assert cancel is not None and cancel.action == "cancel" and cancel.statuspage_incident_id == "spm1"
    later = NOW + timedelta(minutes=1)
    pending = WindowOutcome("pending", "pending", noted=False, error="HTTP 503", next_attempt_at=later)
    await first.finish_window(cancel, pending, at=NOW)
    assert await first.claim_next_window(later - timedelta(seconds=1), lease=LEASE) is None
    assert (await first.claim_next_window(later, lease=LEASE)) is not None
    events = await PostgresMaintenanceStore(db).latest_status_page_events([window_id])
    assert (events[window_id].action, events[window_id].outcome) == ("create", "delivered")  # the retry was not noted


async def test_a_row_names_an_incident_or_a_window_never_neither(db: Database) -> None:
    async with db.acquire() as conn:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO outbox (target, action, payload, created_at, next_attempt_at)"
                " VALUES ('statuspage', 'create', '{}'::jsonb, $1, $1)",
                NOW,
            )
