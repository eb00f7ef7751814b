"""The outbox in PostgreSQL: a due row is claimed by one replica, in order per incident and target,
and a leased row comes back only when its lease ends (its replica died mid-call)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.comms.outbox import PAGERDUTY, STATUSPAGE, Outbound, Outcome
from bot.store.db import Database
from bot.store.incidents import PostgresIncidentStore
from bot.store.outbox import PostgresOutboxStore

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
DELIVERED = Outcome("delivered", "status page", "status page updated")


async def declared(db: Database, *outbox: Outbound) -> int:
    incident = await PostgresIncidentStore(db).create(
        title="Checkout down",
        severity="P1",
        impact="",
        services=["backend"],
        lead="U0ALICE",
        declared_by="U0ALICE",
        channel_id="C0INCIDENTS",
        at=NOW,
        outbox=outbox,
    )
    return incident.id


async def test_two_replicas_claiming_together_get_a_due_row_once(db: Database) -> None:
    await declared(db, Outbound(PAGERDUTY, "trigger", {"routing_key_env": "K"}))
    first, second = PostgresOutboxStore(db), PostgresOutboxStore(db)
    claims = await asyncio.gather(*(s.claim_next(NOW, lease=LEASE) for s in (first, second, first, second)))
    taken = [c for c in claims if c is not None]
    assert len(taken) == 1 and taken[0].attempts == 1 and taken[0].action == "trigger"


async def test_an_update_waits_for_the_create_it_patches_and_gets_its_id(db: Database) -> None:
    incident_id = await declared(
        db,
        Outbound(STATUSPAGE, "create", {"page_id": "p", "incident": {"name": "n"}}),
        Outbound(STATUSPAGE, "update", {"page_id": "p", "incident": {"status": "identified"}}),
        Outbound(PAGERDUTY, "trigger", {"routing_key_env": "K"}),
    )
    store = PostgresOutboxStore(db)
    create = await store.claim_next(NOW, lease=LEASE)
    trigger = await store.claim_next(NOW, lease=LEASE)  # another target is not held up
    assert create is not None and create.action == "create"
    assert trigger is not None and trigger.target == PAGERDUTY
    assert await store.claim_next(NOW, lease=LEASE) is None  # the update waits for the create
    await store.finish(create, Outcome("delivered", "status page", "created", statuspage_incident_id="sp1"), at=NOW)
    update = await store.claim_next(NOW, lease=LEASE)
    assert update is not None and update.action == "update" and update.statuspage_incident_id == "sp1"
    async with db.acquire() as conn:
        stored = await conn.fetchval("SELECT statuspage_incident_id FROM incidents WHERE id = $1", incident_id)
        kinds = await conn.fetch("SELECT kind, text FROM incident_events WHERE actor = 'bot'")
    assert stored == "sp1" and [(k["kind"], k["text"]) for k in kinds] == [("status page", "created")]


async def test_a_leased_row_comes_back_after_its_lease_and_a_retried_one_after_its_backoff(db: Database) -> None:
    await declared(db, Outbound(PAGERDUTY, "trigger", {"routing_key_env": "K"}))
    store = PostgresOutboxStore(db)
    claimed = await store.claim_next(NOW, lease=LEASE)
    assert claimed is not None
    assert await store.claim_next(NOW + LEASE - timedelta(seconds=1), lease=LEASE) is None
    again = await store.claim_next(NOW + LEASE + timedelta(seconds=1), lease=LEASE)  # its replica died
    assert again is not None and again.attempts == 2
    later = NOW + timedelta(minutes=5)
    await store.finish(again, Outcome("pending", "pager", None, error="HTTP 503", next_attempt_at=later), at=NOW)
    assert await store.claim_next(later - timedelta(seconds=1), lease=LEASE) is None
    last = await store.claim_next(later, lease=LEASE)
    assert last is not None and last.attempts == 3
    await store.finish(last, DELIVERED, at=later)
    assert await store.claim_next(later + timedelta(hours=1), lease=LEASE) is None
