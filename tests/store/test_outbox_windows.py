"""The outbox rows of maintenance windows in PostgreSQL (migration 011): claimed apart from incidents'
rows, one window's rows in order, and the Statuspage id of a delivered create kept on the window; the
replica that takes over a window's create adopts the scheduled maintenance a dead one created."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest

from bot.comms.outbox import STATUSPAGE, Outbound, WindowOutcome
from bot.store.db import Database
from bot.store.maintenance import PostgresMaintenanceStore
from bot.store.outbox import PostgresOutboxStore, insert_window_outbound
from bot.targets.statuspage import Statuspage
from sandbox.statuspage_fake import StatuspageFake
from tests.store.statuspage_worker import LEASE, NOW, worker


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


SCHEDULE = {
    "page_id": "page1",
    "incident": {
        "name": "Scheduled maintenance of Mail Score API",
        "status": "scheduled",
        "scheduled_for": (NOW + timedelta(days=1)).isoformat(),
        "scheduled_until": (NOW + timedelta(days=1, hours=2)).isoformat(),
        "component_ids": ["cmp1"],
        "scheduled_auto_in_progress": True,
    },
}


async def stored_maintenance(db: Database, window_id: int) -> str | None:
    async with db.acquire() as conn:
        found = await conn.fetchval("SELECT statuspage_incident_id FROM maintenance_windows WHERE id = $1", window_id)
    return str(found) if found is not None else None


async def test_a_replica_dying_after_statuspage_accepted_a_window_create_leaves_one_scheduled_maintenance(
    db: Database, statuspage: Statuspage, fake: StatuspageFake
) -> None:
    window_id = await window_with(db, Outbound(STATUSPAGE, "create", SCHEDULE))
    first = worker(db, statuspage, NOW)
    claimed = await first.store.claim_next_window(NOW, lease=LEASE)
    assert claimed is not None
    assert (await first.attempt_window(claimed)).state == "delivered"  # Statuspage has it; the replica dies here
    (created,) = fake.incidents
    assert fake.incidents[created]["metadata"] == {"runbook_bot": {"outbox_key": claimed.idempotency_key}}

    assert await worker(db, statuspage, NOW + LEASE - timedelta(seconds=1)).drain() == 0  # still leased
    assert await worker(db, statuspage, NOW + LEASE + timedelta(seconds=1)).drain() == 1
    assert list(fake.incidents) == [created] and fake.count("POST", "/incidents") == 1
    assert fake.count("GET", "/incidents/upcoming", status=200) == 1
    assert fake.count("GET", "/incidents/unresolved") == 0  # maintenances are not listed there
    assert await stored_maintenance(db, window_id) == created


async def test_a_window_create_ends_within_its_lease_and_the_next_adopts_it_though_it_has_started(
    db: Database, statuspage: Statuspage, fake: StatuspageFake
) -> None:
    window_id = await window_with(db, Outbound(STATUSPAGE, "create", SCHEDULE))
    answer = fake.hold_answers("POST", "/incidents")  # Statuspage takes the create; its answer does not come
    # A lease shorter than the client's timeout: only the lease can end the attempt.
    assert await worker(db, statuspage, NOW, lease=timedelta(seconds=1)).drain() == 1
    answer.set()  # to a caller that gave up
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT state, claimed_until, last_error FROM outbox")
    assert row is not None and row["state"] == "pending" and row["claimed_until"] is None  # given back, not held
    assert row["last_error"] == "no answer within the outbox row's lease"

    fake.clock = lambda: NOW + timedelta(days=1, minutes=1)  # meanwhile Statuspage started it: no longer upcoming
    assert await worker(db, statuspage, NOW + timedelta(seconds=5)).drain() == 1
    (created,) = fake.incidents
    assert fake.incidents[created]["status"] == "in_progress" and fake.count("POST", "/incidents") == 1
    assert fake.count("GET", "/incidents/upcoming", status=200) == 1
    assert fake.count("GET", "/incidents/scheduled", status=200) == 1
    assert await stored_maintenance(db, window_id) == created
