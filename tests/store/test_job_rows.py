"""The job store keeps what each job and each fire claim says: on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.scheduler import CLAIM_LEASE
from bot.store.db import Database
from bot.store.jobs import PostgresJobStore

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def test_pending_jobs_come_back_whole_and_soonest_first(db: Database) -> None:
    jobs = PostgresJobStore(db)
    await jobs.add("notice", "m:2", NOW + timedelta(hours=2), {"window": 2})
    await jobs.add("reminder", "m:1", NOW + timedelta(hours=1), {"incident": 7, "tags": ["a"]})
    await jobs.add("reminder", "x:1", NOW, {})

    pending = await jobs.pending("m:")

    assert [(j.kind, j.key, j.run_at, j.payload, j.late) for j in pending] == [
        ("reminder", "m:1", NOW + timedelta(hours=1), {"incident": 7, "tags": ["a"]}, False),
        ("notice", "m:2", NOW + timedelta(hours=2), {"window": 2}, False),
    ]
    assert len({j.id for j in pending}) == 2


async def test_a_claimed_job_is_no_longer_pending_and_keeps_its_id(db: Database) -> None:
    jobs = PostgresJobStore(db)
    await jobs.add("reminder", "r:1", NOW, {"n": 1})
    [before] = await jobs.pending("r:")

    [claimed] = await jobs.claim_due(
        NOW + timedelta(seconds=60), owner="replica-a", limit=10, stale_before=NOW + timedelta(seconds=60) - CLAIM_LEASE
    )

    assert (claimed.id, claimed.kind, claimed.payload, claimed.late) == (before.id, "reminder", {"n": 1}, False)
    assert await jobs.pending("r:") == []
    within_the_lease = NOW + timedelta(seconds=60) + CLAIM_LEASE
    assert (
        await jobs.claim_due(within_the_lease, owner="replica-b", limit=10, stale_before=within_the_lease - CLAIM_LEASE)
        == []
    )


async def test_a_job_not_yet_due_is_not_claimed(db: Database) -> None:
    jobs = PostgresJobStore(db)
    await jobs.add("reminder", "r:1", NOW + timedelta(seconds=1), {})

    assert await jobs.claim_due(NOW, owner="replica-a", limit=10, stale_before=NOW - CLAIM_LEASE) == []
    assert [
        j.key
        for j in await jobs.claim_due(
            NOW + timedelta(seconds=1),
            owner="replica-a",
            limit=10,
            stale_before=NOW + timedelta(seconds=1) - CLAIM_LEASE,
        )
    ] == ["r:1"]


async def test_a_fire_claim_records_who_ran_it_and_whether_late(db: Database) -> None:
    jobs = PostgresJobStore(db)

    assert await jobs.claim_fire("daily", NOW, owner="replica-a", late=True)
    assert await jobs.claim_fire("daily", NOW + timedelta(days=1), owner="replica-b", late=False)
    assert await jobs.claim_fire("weekly", NOW, owner="replica-b", late=False)  # another job, same time
    assert not await jobs.claim_fire("daily", NOW, owner="replica-b", late=False)

    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT job_id, fire_at, claimed_by, late FROM scheduler_fires ORDER BY job_id, fire_at"
        )
    assert [tuple(r) for r in rows] == [
        ("daily", NOW, "replica-a", True),
        ("daily", NOW + timedelta(days=1), "replica-b", False),
        ("weekly", NOW, "replica-b", False),
    ]


async def test_cancel_counts_only_pending_jobs(db: Database) -> None:
    jobs = PostgresJobStore(db)
    for key in ("c:1", "c:2", "c:3"):
        await jobs.add("reminder", key, NOW, {})
    await jobs.claim_due(NOW, owner="replica-a", limit=1, stale_before=NOW - CLAIM_LEASE)

    assert await jobs.cancel("c:") == 2
    assert await jobs.cancel("c:") == 0
