"""The scheduler on an in-memory job store and a manual clock: once across replicas, late, missed, catch-up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot import errors, metrics
from bot.scheduler import Job, Scheduler
from tests.domain.memory import ManualClock, MemoryJobStore

# 09:00 Europe/Berlin on 2 March 2026 is 08:00 UTC (winter time).
DAILY_AT_NINE = "0 9 * * *"
BERLIN = "Europe/Berlin"
NINE_BERLIN = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class Replica:
    """One scheduler and what its handlers saw."""

    def __init__(self, store: MemoryJobStore, clock: ManualClock, name: str) -> None:
        self.scheduler = Scheduler(store, clock=clock, replica_id=name)
        self.jobs: list[Job] = []
        self.fires: list[tuple[datetime, bool]] = []
        self.scheduler.on("reminder", self._job)
        self.scheduler.cron("daily", DAILY_AT_NINE, BERLIN, self._fire)

    async def _job(self, job: Job) -> None:
        self.jobs.append(job)

    async def _fire(self, fire_at: datetime, late: bool) -> None:
        self.fires.append((fire_at, late))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NINE_BERLIN - timedelta(hours=1))


@pytest.fixture
def store() -> MemoryJobStore:
    return MemoryJobStore()


async def test_a_job_runs_when_due_and_not_before(store: MemoryJobStore, clock: ManualClock) -> None:
    replica = Replica(store, clock, "a")
    due = clock.now + timedelta(minutes=15)
    assert await replica.scheduler.schedule("reminder", "incident-1:15", due, {"incident": 1})

    assert await replica.scheduler.run_due() == []
    clock.advance(minutes=15)
    [ran] = await replica.scheduler.run_due()

    assert (ran.key, ran.payload, ran.late) == ("incident-1:15", {"incident": 1}, False)
    assert replica.jobs == [ran]
    assert store.state("incident-1:15") == "done"
    clock.advance(minutes=5)
    assert await replica.scheduler.run_due() == []


async def test_scheduling_the_same_key_twice_adds_one_job(store: MemoryJobStore, clock: ManualClock) -> None:
    replica = Replica(store, clock, "a")

    assert await replica.scheduler.schedule("reminder", "k", clock.now, {})
    assert not await replica.scheduler.schedule("reminder", "k", clock.now, {})
    assert len(await replica.scheduler.pending("k")) == 1


async def test_two_replicas_polling_together_run_each_job_once(store: MemoryJobStore, clock: ManualClock) -> None:
    first, second = Replica(store, clock, "a"), Replica(store, clock, "b")
    for n in range(10):
        await first.scheduler.schedule("reminder", f"r{n}", clock.now, {})

    await asyncio.gather(first.scheduler.run_due(), second.scheduler.run_due())

    assert sorted(j.key for j in first.jobs + second.jobs) == [f"r{n}" for n in range(10)]


async def test_a_job_claimed_more_than_a_minute_late_is_marked_late(store: MemoryJobStore, clock: ManualClock) -> None:
    replica = Replica(store, clock, "a")
    await replica.scheduler.schedule("reminder", "on-time", clock.now, {})
    await replica.scheduler.schedule("reminder", "late", clock.now - timedelta(minutes=2), {})

    ran = {j.key: j.late for j in await replica.scheduler.run_due()}

    assert ran == {"on-time": False, "late": True}


async def test_a_job_past_its_grace_period_is_missed_not_run(store: MemoryJobStore, clock: ManualClock) -> None:
    replica = Replica(store, clock, "a")
    await replica.scheduler.schedule("reminder", "inside", clock.now - timedelta(minutes=30), {})
    await replica.scheduler.schedule("reminder", "outside", clock.now - timedelta(minutes=31), {})

    await replica.scheduler.run_due()

    assert [j.key for j in replica.jobs] == ["inside"]
    assert store.state("outside") == "missed"


async def test_a_failing_handler_fails_its_job_once_and_the_rest_still_run(
    store: MemoryJobStore, clock: ManualClock
) -> None:
    replica = Replica(store, clock, "a")

    async def broken(_: Job) -> None:
        raise RuntimeError("boom")

    replica.scheduler.on("broken", broken)
    await replica.scheduler.schedule("broken", "b", clock.now, {})
    await replica.scheduler.schedule("reminder", "r", clock.now, {})

    ran = await replica.scheduler.run_due()
    clock.advance(minutes=1)
    await replica.scheduler.run_due()

    assert [j.key for j in ran] == ["r"]
    assert (store.jobs["b"].state, store.jobs["b"].error) == ("failed", "RuntimeError")


async def test_a_job_without_a_handler_fails_instead_of_staying_due(store: MemoryJobStore, clock: ManualClock) -> None:
    replica = Replica(store, clock, "a")
    await replica.scheduler.schedule("unknown-kind", "u", clock.now, {})

    assert await replica.scheduler.run_due() == []
    assert store.state("u") == "failed"


async def test_cancel_removes_only_the_pending_jobs_with_the_prefix(store: MemoryJobStore, clock: ManualClock) -> None:
    replica = Replica(store, clock, "a")
    for key in ("incident-1:a", "incident-1:b", "incident-12:a"):
        await replica.scheduler.schedule("reminder", key, clock.now + timedelta(minutes=5), {})

    assert await replica.scheduler.cancel("incident-1:") == 2
    clock.advance(minutes=5)
    await replica.scheduler.run_due()

    assert [j.key for j in replica.jobs] == ["incident-12:a"]


# ---- recurring jobs and catch-up ------------------------------------------------------------------


def test_the_last_fire_is_found_in_the_jobs_timezone(store: MemoryJobStore, clock: ManualClock) -> None:
    replica = Replica(store, clock, "a")

    assert replica.scheduler.last_fire_before("daily", NINE_BERLIN) == NINE_BERLIN
    assert replica.scheduler.last_fire_before("daily", NINE_BERLIN + timedelta(minutes=29)) == NINE_BERLIN
    assert replica.scheduler.last_fire_before("daily", NINE_BERLIN - timedelta(seconds=1)) is None
    assert replica.scheduler.last_fire_before("daily", NINE_BERLIN + timedelta(minutes=31)) is None


async def test_catch_up_runs_a_fire_missed_while_down_once_and_late(store: MemoryJobStore, clock: ManualClock) -> None:
    clock.now = NINE_BERLIN + timedelta(minutes=10)  # the bot was down at 09:00 and starts at 09:10
    restarted = Replica(store, clock, "a")

    assert await restarted.scheduler.catch_up() == ["daily"]
    assert restarted.fires == [(NINE_BERLIN, True)]

    again = Replica(store, clock, "a")  # restarted once more: the fire is not repeated
    assert await again.scheduler.catch_up() == []
    assert again.fires == []


async def test_catch_up_skips_a_fire_already_run_by_another_replica(store: MemoryJobStore, clock: ManualClock) -> None:
    running = Replica(store, clock, "a")
    assert await running.scheduler.run_cron_fire("daily", NINE_BERLIN)

    clock.now = NINE_BERLIN + timedelta(minutes=5)
    starting = Replica(store, clock, "b")

    assert await starting.scheduler.catch_up() == []
    assert starting.fires == []
    assert running.fires == [(NINE_BERLIN, False)]


async def test_catch_up_leaves_a_fire_older_than_the_grace_period(store: MemoryJobStore, clock: ManualClock) -> None:
    clock.now = NINE_BERLIN + timedelta(minutes=31)
    restarted = Replica(store, clock, "a")

    assert await restarted.scheduler.catch_up() == []
    assert restarted.fires == []


async def test_two_replicas_starting_together_catch_up_once(store: MemoryJobStore, clock: ManualClock) -> None:
    clock.now = NINE_BERLIN + timedelta(minutes=1)
    first, second = Replica(store, clock, "a"), Replica(store, clock, "b")

    await asyncio.gather(first.scheduler.catch_up(), second.scheduler.catch_up())

    assert len(first.fires) + len(second.fires) == 1


async def test_a_cron_fire_is_run_by_one_of_two_replicas(store: MemoryJobStore, clock: ManualClock) -> None:
    first, second = Replica(store, clock, "a"), Replica(store, clock, "b")

    won = await asyncio.gather(
        first.scheduler.run_cron_fire("daily", NINE_BERLIN), second.scheduler.run_cron_fire("daily", NINE_BERLIN)
    )

    assert sorted(won) == [False, True]
    assert len(first.fires) + len(second.fires) == 1


def fires(job: str, result: str) -> float:
    return metrics.REGISTRY.get_sample_value("runbook_bot_scheduler_fires_total", {"job": job, "result": result}) or 0.0


async def test_each_outcome_is_counted_in_the_fires_metric(store: MemoryJobStore, clock: ManualClock) -> None:
    replica = Replica(store, clock, "a")

    async def broken(_: Job) -> None:
        raise RuntimeError("boom")

    replica.scheduler.on("broken", broken)
    before = {r: fires("reminder", r) for r in ("claimed", "late", "missed")} | {"failed": fires("broken", "failed")}
    await replica.scheduler.schedule("reminder", "claimed", clock.now, {})
    await replica.scheduler.schedule("reminder", "late", clock.now - timedelta(minutes=5), {})
    await replica.scheduler.schedule("reminder", "missed", clock.now - timedelta(hours=1), {})
    await replica.scheduler.schedule("broken", "broken", clock.now, {})
    await replica.scheduler.run_due()

    after = {r: fires("reminder", r) for r in ("claimed", "late", "missed")} | {"failed": fires("broken", "failed")}
    assert {r: after[r] - before[r] for r in after} == {"claimed": 1, "late": 1, "missed": 1, "failed": 1}

    skipped, claimed, late = fires("daily", "skipped"), fires("daily", "claimed"), fires("daily", "late")
    assert await replica.scheduler.run_cron_fire("daily", NINE_BERLIN)
    assert not await Replica(store, clock, "b").scheduler.run_cron_fire("daily", NINE_BERLIN)
    assert await replica.scheduler.run_cron_fire("daily", NINE_BERLIN + timedelta(days=1), late=True)
    assert fires("daily", "skipped") == skipped + 1
    assert fires("daily", "claimed") == claimed + 1
    assert fires("daily", "late") == late + 1


async def test_one_poll_claims_at_most_a_hundred_jobs(store: MemoryJobStore, clock: ManualClock) -> None:
    replica = Replica(store, clock, "a")
    for n in range(150):
        await replica.scheduler.schedule("reminder", f"r{n:03}", clock.now - timedelta(seconds=150 - n), {})

    first = await replica.scheduler.run_due()
    second = await replica.scheduler.run_due()

    assert [len(first), len(second)] == [100, 50]
    assert [j.key for j in first] == [f"r{n:03}" for n in range(100)]  # oldest first


def test_a_bad_cron_expression_is_a_config_error_naming_it(store: MemoryJobStore, clock: ManualClock) -> None:
    scheduler = Scheduler(store, clock=clock, replica_id="a")

    with pytest.raises(errors.ConfigError) as bad:
        scheduler.cron("daily", "61 9 * * *", BERLIN, Replica(store, clock, "b")._fire)
    assert "61 9 * * *" in bad.value.problems[0]
    with pytest.raises(errors.ConfigError):
        scheduler.cron("daily", "0 9 * * *", "Mars/Olympus_Mons", Replica(store, clock, "b")._fire)


async def test_start_catches_up_before_it_begins_polling_and_stop_ends_it(
    store: MemoryJobStore, clock: ManualClock
) -> None:
    clock.now = NINE_BERLIN + timedelta(minutes=3)
    replica = Replica(store, clock, "a")

    await replica.scheduler.start()
    try:
        assert replica.fires == [(NINE_BERLIN, True)]
    finally:
        await replica.scheduler.stop(1)
    await replica.scheduler.stop(1)  # stopping twice is harmless


def test_the_last_fire_is_the_latest_of_several_within_the_grace_period(
    store: MemoryJobStore, clock: ManualClock
) -> None:
    scheduler = Scheduler(store, clock=clock, replica_id="a")
    scheduler.cron("often", "*/10 * * * *", "UTC", Replica(store, clock, "b")._fire)

    assert scheduler.last_fire_before("often", NINE_BERLIN + timedelta(minutes=25)) == NINE_BERLIN + timedelta(
        minutes=20
    )
    assert scheduler.last_fire_before("often", NINE_BERLIN + timedelta(minutes=20)) == NINE_BERLIN + timedelta(
        minutes=20
    )


async def test_a_failing_job_does_not_stop_later_jobs_of_the_same_poll(
    store: MemoryJobStore, clock: ManualClock
) -> None:
    replica = Replica(store, clock, "a")

    async def broken(_: Job) -> None:
        raise RuntimeError("boom")

    replica.scheduler.on("broken", broken)
    await replica.scheduler.schedule("broken", "first", clock.now - timedelta(seconds=2), {})
    await replica.scheduler.schedule("unknown-kind", "second", clock.now - timedelta(seconds=1), {})
    await replica.scheduler.schedule("reminder", "third", clock.now, {})

    ran = await replica.scheduler.run_due()

    assert [j.key for j in ran] == ["third"]
    assert store.jobs["second"].error  # says why: no handler for its kind


async def test_stopping_a_scheduler_that_never_started_is_harmless(store: MemoryJobStore, clock: ManualClock) -> None:
    await Scheduler(store, clock=clock, replica_id="a").stop(1)


class Blocking:
    """A job handler that holds its job until released (or forever), recording what it started."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, job: Job) -> None:
        self.started.append(job.key)
        self.entered.set()
        await self.release.wait()


async def _three_due_jobs(scheduler: Scheduler, clock: ManualClock) -> None:
    for n in range(3):
        await scheduler.schedule("slow", f"job-{n}", clock.now - timedelta(seconds=3 - n), {})


async def test_stop_lets_the_running_job_finish_and_hands_the_rest_of_its_batch_back(
    store: MemoryJobStore, clock: ManualClock
) -> None:
    scheduler = Scheduler(store, clock=clock, replica_id="a", poll_seconds=0.01)
    handler = Blocking()
    scheduler.on("slow", handler)
    await _three_due_jobs(scheduler, clock)
    await scheduler.start()
    async with asyncio.timeout(10):
        await handler.entered.wait()

    stopping = asyncio.create_task(scheduler.stop(10))
    await asyncio.sleep(0)
    assert not stopping.done(), "stop waits for the job in flight"
    handler.release.set()
    async with asyncio.timeout(10):
        await stopping

    assert handler.started == ["job-0"]
    assert [store.state(f"job-{n}") for n in range(3)] == ["done", "pending", "pending"]
    assert store.jobs["job-1"].owner is None


async def test_a_poll_stopped_mid_batch_answers_the_jobs_it_ran_and_hands_back_the_rest(
    store: MemoryJobStore, clock: ManualClock
) -> None:
    scheduler = Scheduler(store, clock=clock, replica_id="a")
    started: list[str] = []

    async def stop_during(job: Job) -> None:
        started.append(job.key)
        await scheduler.stop(1)  # as at shutdown, while this job runs

    scheduler.on("slow", stop_during)
    await _three_due_jobs(scheduler, clock)

    ran = await scheduler.run_due()

    assert [job.key for job in ran] == started == ["job-0"]
    assert [store.state(f"job-{n}") for n in range(3)] == ["done", "pending", "pending"]
    assert [store.jobs[f"job-{n}"].owner for n in (1, 2)] == [None, None]


async def test_a_job_cut_short_at_shutdown_is_no_error_and_runs_again_once_its_claim_goes_stale(
    store: MemoryJobStore, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = Scheduler(store, clock=clock, replica_id="a", poll_seconds=0.01)
    stuck = Blocking()
    scheduler.on("slow", stuck)
    await scheduler.schedule("slow", "job-0", clock.now, {})
    await scheduler.start()
    async with asyncio.timeout(10):
        await stuck.entered.wait()

    await scheduler.stop(0.01)

    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert store.state("job-0") == "claimed"
    survivor = Replica(store, clock, "b")
    survivor.scheduler.on("slow", survivor._job)
    clock.advance(minutes=1)
    assert await survivor.scheduler.run_due() == [], "a fresh claim still belongs to its replica"
    clock.advance(minutes=2)
    [again] = await survivor.scheduler.run_due()
    assert (again.key, again.late) == ("job-0", True)
    assert store.state("job-0") == "done"
