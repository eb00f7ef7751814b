"""The scheduler's PostgreSQL job store: claims hold across replicas and restarts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.scheduler import CLAIM_LEASE, Job, Scheduler
from bot.store.db import Database
from bot.store.jobs import PostgresJobStore

NINE_BERLIN = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class Replica:
    def __init__(self, db: Database, name: str, now: datetime) -> None:
        self.scheduler = Scheduler(PostgresJobStore(db), clock=lambda: now, replica_id=name)
        self.jobs: list[str] = []
        self.fires: list[tuple[datetime, bool]] = []
        self.scheduler.on("reminder", self._job)
        self.scheduler.cron("daily", "0 9 * * *", "Europe/Berlin", self._fire)

    async def _job(self, job: Job) -> None:
        self.jobs.append(job.key)

    async def _fire(self, fire_at: datetime, late: bool) -> None:
        self.fires.append((fire_at, late))


async def test_two_replicas_claiming_together_run_each_job_once(db: Database) -> None:
    now = datetime.now(UTC)
    first, second = Replica(db, "a", now), Replica(db, "b", now)
    for n in range(30):
        await first.scheduler.schedule("reminder", f"r{n:02}", now - timedelta(seconds=n), {})

    await asyncio.gather(first.scheduler.run_due(), second.scheduler.run_due())

    assert sorted(first.jobs + second.jobs) == [f"r{n:02}" for n in range(30)]


async def test_a_job_scheduled_before_a_restart_runs_once_after_it(db: Database) -> None:
    now = datetime.now(UTC)
    before = Replica(db, "a", now)
    await before.scheduler.schedule("reminder", "incident-7:15", now + timedelta(minutes=15), {"incident": 7})

    after = Replica(db, "a", now + timedelta(minutes=16))  # the bot restarted in between
    ran = await after.scheduler.run_due()

    assert [(j.key, j.payload, j.late) for j in ran] == [("incident-7:15", {"incident": 7}, False)]
    assert await Replica(db, "b", now + timedelta(minutes=17)).scheduler.run_due() == []


async def test_a_job_due_long_ago_is_claimed_late(db: Database) -> None:
    now = datetime.now(UTC)
    replica = Replica(db, "a", now)
    await replica.scheduler.schedule("reminder", "late", now - timedelta(minutes=5), {})
    await replica.scheduler.schedule("reminder", "prompt", now - timedelta(seconds=30), {})

    assert {j.key: j.late for j in await replica.scheduler.run_due()} == {"late": True, "prompt": False}


async def test_cancel_takes_the_prefix_literally(db: Database) -> None:
    now = datetime.now(UTC)
    replica = Replica(db, "a", now)
    for key in ("inc_1:a", "inc_1:b", "incX1:a", "inc%:a"):
        await replica.scheduler.schedule("reminder", key, now + timedelta(minutes=1), {})

    assert await replica.scheduler.cancel("inc_1:") == 2
    assert sorted(j.key for j in await replica.scheduler.pending("inc")) == ["inc%:a", "incX1:a"]
    assert await replica.scheduler.cancel("inc%") == 1


async def test_the_daily_fire_missed_while_down_runs_once_after_a_restart(db: Database) -> None:
    restarted = Replica(db, "a", NINE_BERLIN + timedelta(minutes=12))

    assert await restarted.scheduler.catch_up() == ["daily"]
    assert restarted.fires == [(NINE_BERLIN, True)]

    other = Replica(db, "b", NINE_BERLIN + timedelta(minutes=13))
    assert await other.scheduler.catch_up() == []
    assert other.fires == []


async def test_two_replicas_firing_the_same_cron_time_run_it_once(db: Database) -> None:
    first, second = Replica(db, "a", NINE_BERLIN), Replica(db, "b", NINE_BERLIN)

    won = await asyncio.gather(
        first.scheduler.run_cron_fire("daily", NINE_BERLIN), second.scheduler.run_cron_fire("daily", NINE_BERLIN)
    )

    assert sorted(won) == [False, True]


async def job_rows(db: Database) -> dict[str, tuple[str, str | None, str | None]]:
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT key, state, claimed_by, error FROM scheduled_jobs")
    return {r["key"]: (r["state"], r["claimed_by"], r["error"]) for r in rows}


async def test_each_job_is_settled_with_who_ran_it_and_why_it_failed(db: Database) -> None:
    now = datetime.now(UTC)
    replica = Replica(db, "replica-a", now)

    async def broken(_: Job) -> None:
        raise RuntimeError("boom")

    replica.scheduler.on("broken", broken)
    await replica.scheduler.schedule("reminder", "ok", now, {})
    await replica.scheduler.schedule("broken", "bad", now, {})
    await replica.scheduler.schedule("reminder", "old", now - timedelta(hours=2), {})
    await replica.scheduler.run_due()

    assert await job_rows(db) == {
        "ok": ("done", "replica-a", None),
        "bad": ("failed", "replica-a", "RuntimeError"),
        "old": ("missed", "replica-a", None),
    }


async def test_one_poll_claims_at_most_a_hundred_jobs_oldest_first(db: Database) -> None:
    now = datetime.now(UTC)
    replica = Replica(db, "a", now)
    for n in range(120):
        await replica.scheduler.schedule("reminder", f"r{n:03}", now - timedelta(seconds=120 - n), {})

    await replica.scheduler.run_due()

    assert sorted(replica.jobs) == [f"r{n:03}" for n in range(100)]  # the oldest hundred


async def test_scheduling_reports_whether_the_job_was_added(db: Database) -> None:
    now = datetime.now(UTC)
    replica = Replica(db, "a", now)

    assert await replica.scheduler.schedule("reminder", "once", now, {})
    assert not await replica.scheduler.schedule("reminder", "once", now, {})


async def test_a_backslash_in_a_prefix_is_taken_literally(db: Database) -> None:
    now = datetime.now(UTC)
    replica = Replica(db, "a", now)
    for key in ("a\\b:1", "a\\\\b:1", "ab:1"):
        await replica.scheduler.schedule("reminder", key, now + timedelta(minutes=1), {})

    assert await replica.scheduler.cancel("a\\b") == 1
    assert sorted(j.key for j in await replica.scheduler.pending("a")) == ["a\\\\b:1", "ab:1"]


async def test_a_claim_left_by_a_dead_replica_is_claimed_again_after_the_lease_and_a_released_one_at_once(
    db: Database,
) -> None:
    now = datetime.now(UTC)
    store = PostgresJobStore(db)
    dead = Replica(db, "dead", now)
    for key in ("held", "released"):
        await dead.scheduler.schedule("reminder", key, now - timedelta(seconds=1), {})
    claimed = {j.key: j for j in await store.claim_due(now, owner="dead", limit=10, stale_before=now)}
    await store.release([claimed["released"].id])

    soon = Replica(db, "b", now + timedelta(seconds=30))
    assert [j.key for j in await soon.scheduler.run_due()] == ["released"]
    after_the_lease = Replica(db, "c", now + CLAIM_LEASE + timedelta(seconds=1))
    assert [(j.key, j.late) for j in await after_the_lease.scheduler.run_due()] == [("held", True)]
    assert await Replica(db, "d", now + 2 * CLAIM_LEASE).scheduler.run_due() == []
