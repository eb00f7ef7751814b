"""The outbox in PostgreSQL: a due row is claimed by one replica, in order per incident and target,
and a leased row comes back only when its lease ends (its replica died mid-call); the replica that
takes it over adopts the Statuspage incident the dead one created instead of posting another."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg

from bot.comms.outbox import PAGERDUTY, STATUSPAGE, Outbound, OutboxWorker, Outcome
from bot.store.db import Database, available_migrations, create_database
from bot.store.incidents import PostgresIncidentStore
from bot.store.outbox import PostgresOutboxStore, insert_outbound
from bot.targets.statuspage import Statuspage
from sandbox.statuspage_fake import StatuspageFake
from tests.store.statuspage_worker import LEASE, NOW, worker

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
        stored = await conn.fetchval(
            "SELECT statuspage_incident_id FROM statuspage_incidents WHERE incident_id = $1 AND page_id = 'p'",
            incident_id,
        )
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


CREATE = {"page_id": "page1", "incident": {"name": "Outage of Mail Score API", "status": "investigating"}}


async def test_a_replica_dying_after_statuspage_accepted_a_create_leaves_one_public_incident(
    db: Database, statuspage: Statuspage, fake: StatuspageFake
) -> None:
    incident_id = await declared(db, Outbound(STATUSPAGE, "create", CREATE))
    first = worker(db, statuspage, NOW)
    claimed = await first.store.claim_next(NOW, lease=LEASE)
    assert claimed is not None
    assert (await first.attempt(claimed)).state == "delivered"  # Statuspage has it; the replica dies here
    (created,) = fake.incidents
    assert fake.incidents[created]["metadata"] == {"runbook_bot": {"outbox_key": claimed.idempotency_key}}

    assert await worker(db, statuspage, NOW + LEASE - timedelta(seconds=1)).drain() == 0  # still leased
    assert await worker(db, statuspage, NOW + LEASE + timedelta(seconds=1)).drain() == 1
    assert list(fake.incidents) == [created] and fake.count("POST", "/incidents") == 1
    assert fake.count("GET", "/incidents/unresolved", status=200) == 1
    async with db.transaction() as conn:
        stored = await conn.fetchval("SELECT statuspage_incident_id FROM statuspage_incidents")
        await insert_outbound(
            conn,
            incident_id,
            [Outbound(STATUSPAGE, "update", {"page_id": "page1", "incident": {"status": "identified"}})],
            at=NOW,
        )
    assert stored == created
    assert await worker(db, statuspage, NOW + LEASE * 2).drain() == 1
    assert fake.incidents[created]["status"] == "identified" and len(fake.incidents) == 1


async def test_a_first_create_never_looks_and_a_retried_one_creates_when_nothing_carries_its_key(
    db: Database, statuspage: Statuspage, fake: StatuspageFake
) -> None:
    await declared(db, Outbound(STATUSPAGE, "create", CREATE))
    fake.fail(503)  # the first attempt fails before Statuspage takes anything
    assert await worker(db, statuspage, NOW).drain() == 1
    assert fake.incidents == {} and fake.count("GET") == 0
    assert await worker(db, statuspage, NOW + timedelta(seconds=5)).drain() == 1
    assert fake.count("GET", "/incidents/unresolved", status=200) == 1 and len(fake.incidents) == 1


async def test_one_pages_pending_create_does_not_hold_up_another_pages_update(db: Database) -> None:
    page = {"incident": {"status": "investigating"}}
    await declared(
        db,
        Outbound(STATUSPAGE, "create", {**page, "page_id": "a"}),
        Outbound(STATUSPAGE, "create", {**page, "page_id": "b"}),
        Outbound(STATUSPAGE, "update", {**page, "page_id": "a"}),
    )
    store = PostgresOutboxStore(db)
    create_a = await store.claim_next(NOW, lease=LEASE)
    create_b = await store.claim_next(NOW, lease=LEASE)  # another page: not behind page a's create
    assert create_a is not None and create_b is not None and create_b.payload["page_id"] == "b"
    assert await store.claim_next(NOW, lease=LEASE) is None  # page a's update waits for page a's create
    await store.finish(create_a, Outcome("delivered", "status page", None, statuspage_incident_id="spa"), at=NOW)
    update_a = await store.claim_next(NOW, lease=LEASE)  # page b's create is still out: no matter
    assert update_a is not None and update_a.action == "update" and update_a.statuspage_incident_id == "spa"


async def test_an_attempt_ends_within_its_lease_and_the_next_adopts_what_statuspage_took(
    db: Database, statuspage: Statuspage, fake: StatuspageFake
) -> None:
    await declared(db, Outbound(STATUSPAGE, "create", CREATE))
    answer = fake.hold_answers("POST", "/incidents")  # Statuspage takes the create; its answer does not come
    lease = timedelta(seconds=1)  # shorter than the client's timeout: only the lease can end the attempt
    slow = OutboxWorker(
        PostgresOutboxStore(db), statuspage, None, lambda: NOW, backoff_seconds=1, backoff_max_seconds=1, lease=lease
    )
    assert await slow.drain() == 1
    answer.set()  # to a caller that gave up
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT state, claimed_until, last_error FROM outbox")
    assert row is not None and row["state"] == "pending" and row["claimed_until"] is None  # given back, not held
    assert row["last_error"] == "no answer within the outbox row's lease"
    assert await worker(db, statuspage, NOW + timedelta(seconds=5)).drain() == 1
    assert len(fake.incidents) == 1 and fake.count("POST", "/incidents") == 1
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT statuspage_incident_id FROM statuspage_incidents") == next(
            iter(fake.incidents)
        )


async def test_migration_010_keeps_the_statuspage_id_an_incident_had_on_its_page(postgres_url: str) -> None:
    url = await create_database(postgres_url)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz)")
        for version, sql in available_migrations():
            if version >= "010":
                break
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
        for title, page_id in (("Delivered", "mailscore01"), ("Never delivered", None)):
            incident = await conn.fetchval(
                "INSERT INTO incidents (title, severity, lead, declared_by, channel_id, declared_at,"
                " statuspage_incident_id) VALUES ($1, 'P1', 'U0A', 'U0A', 'C0I', $2, $3) RETURNING id",
                title,
                NOW,
                f"sp-{title}" if page_id else None,
            )
            await conn.execute(
                "INSERT INTO outbox (incident_id, target, action, payload, created_at, next_attempt_at)"
                " VALUES ($1, 'statuspage', 'create', $2::jsonb, $3, $3)",
                incident,
                f'{{"page_id": "{page_id or "mailscore01"}", "incident": {{}}}}',
                NOW,
            )
    finally:
        await conn.close()
    database = Database(url, timeout=10)
    await database.open()
    try:
        assert "010_statuspage_pages" in await database.migrate()
        async with database.acquire() as migrated:
            kept = [tuple(r) for r in await migrated.fetch("SELECT * FROM statuspage_incidents")]
            keys = await migrated.fetch("SELECT DISTINCT idempotency_key FROM outbox")
    finally:
        await database.close()
    assert kept == [(1, "mailscore01", "sp-Delivered")]
    assert len(keys) == 2  # every row, old ones too, has a key of its own


async def test_a_drain_asked_for_while_another_is_delivering_waits_for_it(
    db: Database, statuspage: Statuspage, fake: StatuspageFake
) -> None:
    """The shell's `status-page` (or any caller) drains beside the poller: it must not skip the row the
    poller has leased and return before that row is delivered."""
    await declared(db, Outbound(STATUSPAGE, "create", CREATE))
    one = worker(db, statuspage, NOW)
    released = fake.hold_answers("POST", "/incidents")
    first = asyncio.create_task(one.drain())
    await fake.wait_for(lambda: fake.incidents or None)  # the create took effect; its answer is held
    second = asyncio.create_task(one.drain())
    await asyncio.sleep(0.2)
    assert not second.done(), "the second drain returned while the first still delivered its row"
    released.set()
    assert await first == 1 and await second == 0
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT state FROM outbox") == "delivered"
