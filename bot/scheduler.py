"""Scheduling that survives restarts and runs each fire on exactly one replica.

Two kinds of job:
- one-shot jobs (a reminder at 10:15, a maintenance notice at 22:00) live in the
  `scheduled_jobs` table; `run_due(now)` claims the due ones atomically, so two
  replicas never both post, and a restart loses nothing;
- recurring jobs (the daily health report) are cron expressions; each fire time
  is claimed in `scheduler_fires`, and a fire missed while the bot was down is
  run late, once, if it is still within the grace period.

APScheduler (3.x) only wakes us up: a short interval job polls `run_due`, and one
CronTrigger per recurring job. Tests call `run_due`/`run_cron_fire` with their
own clock instead of sleeping.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot import errors, metrics

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
DEFAULT_GRACE = timedelta(minutes=30)
POLL_SECONDS = 5.0
CLAIM_BATCH = 100
# A claim older than this belongs to a replica that died while holding it: the job is claimed again and
# runs late rather than never. Handlers post one message with a few-second timeout, far below this.
CLAIM_LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Job:
    id: uuid.UUID
    kind: str
    key: str
    run_at: datetime
    payload: Mapping[str, Any]
    late: bool


JobHandler = Callable[[Job], Awaitable[None]]
CronHandler = Callable[[datetime, bool], Awaitable[None]]  # (scheduled fire time, late)


class JobStore(Protocol):
    """Where jobs and fire claims live (bot/store/jobs.py); every claim is won by exactly one replica."""

    async def add(self, kind: str, key: str, run_at: datetime, payload: Mapping[str, Any]) -> bool:
        """Insert unless a job with this key exists; True when inserted."""
        ...

    async def cancel(self, key_prefix: str) -> int:
        """Pending jobs whose key starts with the prefix (taken literally) → cancelled; how many."""
        ...

    async def pending(self, key_prefix: str) -> list[Job]: ...

    async def claim_due(self, now: datetime, *, owner: str, limit: int, stale_before: datetime) -> list[Job]:
        """Jobs due by `now` → claimed by `owner`, oldest first; `late` when claimed over 60 s late.

        Due means pending, or claimed before `stale_before` by a replica that never settled it.
        """
        ...

    async def release(self, job_ids: Sequence[uuid.UUID]) -> None:
        """Claimed jobs this replica will not run after all (it is stopping) → pending again."""
        ...

    async def settle(self, job_id: uuid.UUID, state: str, error: str | None) -> None: ...

    async def claim_fire(self, job_id: str, fire_at: datetime, *, owner: str, late: bool) -> bool:
        """Record that `owner` runs this fire of a recurring job; False when another replica already did."""
        ...


@dataclass(frozen=True)
class CronJob:
    job_id: str
    trigger: CronTrigger
    handler: CronHandler


def cron_trigger(expression: str, timezone: str) -> CronTrigger:
    """A 5-field cron expression in a timezone; a bad one is a ConfigError that says which."""
    try:
        return CronTrigger.from_crontab(expression, timezone=ZoneInfo(timezone))
    except (ValueError, KeyError) as exc:
        raise errors.ConfigError([f"cron expression {expression!r} ({timezone}): {exc}"]) from exc


class Scheduler:
    def __init__(
        self,
        jobs: JobStore,
        *,
        clock: Clock,
        replica_id: str,
        grace: timedelta = DEFAULT_GRACE,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._jobs = jobs
        self._clock = clock
        self._replica_id = replica_id
        self._grace = grace
        self._poll_seconds = poll_seconds
        self._handlers: dict[str, JobHandler] = {}
        self._cron: dict[str, CronJob] = {}
        self._aps: AsyncIOScheduler | None = None
        self._stopping = False
        self._in_flight: set[asyncio.Task[object]] = set()

    # ---- registration ----------------------------------------------------------------------------

    def on(self, kind: str, handler: JobHandler) -> None:
        self._handlers[kind] = handler

    def cron(self, job_id: str, expression: str, timezone: str, handler: CronHandler) -> None:
        self._cron[job_id] = CronJob(job_id, cron_trigger(expression, timezone), handler)

    # ---- one-shot jobs -----------------------------------------------------------------------------

    async def schedule(self, kind: str, key: str, run_at: datetime, payload: Mapping[str, Any]) -> bool:
        """Add a job unless one with this key exists (idempotent); True when added."""
        return await self._jobs.add(kind, key, run_at, payload)

    async def cancel(self, key_prefix: str) -> int:
        """Cancel every pending job whose key starts with the prefix (e.g. all reminders of an incident)."""
        return await self._jobs.cancel(key_prefix)

    async def pending(self, key_prefix: str) -> list[Job]:
        return await self._jobs.pending(key_prefix)

    async def run_due(self, now: datetime | None = None) -> list[Job]:
        """Claim and run every due job once across replicas; too-late jobs are marked missed."""
        now = now or self._clock()
        jobs = await self._jobs.claim_due(
            now, owner=self._replica_id, limit=CLAIM_BATCH, stale_before=now - CLAIM_LEASE
        )
        ran: list[Job] = []
        for index, job in enumerate(jobs):
            if self._stopping:
                await self._jobs.release([j.id for j in jobs[index:]])  # another replica, or the next start, runs them
                break
            if now - job.run_at > self._grace:
                metrics.SCHEDULER_FIRES.labels(job=job.kind, result="missed").inc()
                await self._settle(job.id, "missed", None)
                log.warning("scheduled job missed its grace period", kind=job.kind, key=job.key)
                continue
            metrics.SCHEDULER_FIRES.labels(job=job.kind, result="late" if job.late else "claimed").inc()
            handler = self._handlers.get(job.kind)
            if handler is None:
                await self._settle(job.id, "failed", f"no handler for {job.kind}")
                continue
            try:
                await handler(job)
            except Exception as exc:
                log.exception("scheduled job failed", kind=job.kind, key=job.key)
                metrics.SCHEDULER_FIRES.labels(job=job.kind, result="failed").inc()
                await self._settle(job.id, "failed", type(exc).__name__)
                continue
            await self._settle(job.id, "done", None)
            ran.append(job)
        return ran

    async def _settle(self, job_id: uuid.UUID, state: str, error: str | None) -> None:
        await self._jobs.settle(job_id, state, error)

    # ---- recurring jobs -----------------------------------------------------------------------------

    async def claim_fire(self, job_id: str, fire_at: datetime, *, late: bool) -> bool:
        return await self._jobs.claim_fire(job_id, fire_at, owner=self._replica_id, late=late)

    async def run_cron_fire(self, job_id: str, fire_at: datetime, *, late: bool = False) -> bool:
        """Run one fire of a recurring job if this replica wins its claim; True when it ran here."""
        job = self._cron[job_id]
        if not await self.claim_fire(job_id, fire_at, late=late):
            metrics.SCHEDULER_FIRES.labels(job=job_id, result="skipped").inc()
            return False
        metrics.SCHEDULER_FIRES.labels(job=job_id, result="late" if late else "claimed").inc()
        await job.handler(fire_at, late)
        return True

    def last_fire_before(self, job_id: str, now: datetime) -> datetime | None:
        """The latest scheduled fire time in (now - grace, now], if any."""
        trigger = self._cron[job_id].trigger
        moment: datetime | None = trigger.get_next_fire_time(None, now - self._grace)
        last = None
        while moment is not None and moment <= now:
            last = moment
            moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
        return last

    async def catch_up(self, now: datetime | None = None) -> list[str]:
        """At start-up: run, late and once, each recurring fire missed within the grace period."""
        now = now or self._clock()
        ran = []
        for job_id in self._cron:
            missed = self.last_fire_before(job_id, now)
            if missed is not None and await self.run_cron_fire(job_id, missed, late=True):
                ran.append(job_id)
        return ran

    # ---- wiring ----------------------------------------------------------------------------------

    # The APScheduler wiring below only wakes run_due/run_cron_fire up; it is left out of mutation
    # testing (the claims and catch-up it calls are in), since testing it means waiting on real time.
    async def start(self) -> None:  # pragma: no mutate block
        await self.catch_up()
        self._stopping = False
        self._aps = AsyncIOScheduler(timezone=ZoneInfo("UTC"))
        self._aps.add_job(
            self._poll, "interval", seconds=self._poll_seconds, id="run-due", max_instances=1, coalesce=True
        )
        for job_id, job in self._cron.items():
            self._aps.add_job(
                self._fire_now,
                job.trigger,
                args=[job_id],
                id=f"cron-{job_id}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=int(self._grace.total_seconds()),
            )
        self._aps.start()

    async def _poll(self) -> None:  # pragma: no mutate block
        await self._owned(self.run_due())

    async def _fire_now(self, job_id: str) -> None:  # pragma: no mutate block
        now = self._clock()
        fire_at = self.last_fire_before(job_id, now) or now
        await self._owned(self.run_cron_fire(job_id, fire_at))

    async def _owned(self, work: Awaitable[object]) -> None:  # pragma: no mutate block
        """A wake-up from APScheduler, as a task that stop() waits for (and cancels when out of time)."""
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        try:
            await work
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # Cancelled by stop() after its grace: the unsettled claim runs again after CLAIM_LEASE.
            # Returning instead of raising keeps APScheduler from reporting a shutdown as a job error.
            log.warning("scheduled work cut short by shutdown")
        finally:
            self._in_flight.discard(task)

    async def stop(self, grace_seconds: float) -> None:  # pragma: no mutate block
        """No new wake-ups; the job running now may finish within the grace, the rest of its batch is released."""
        self._stopping = True
        if self._aps is not None:
            self._aps.pause()  # shutdown() would cancel the work in flight at once
        if self._in_flight:
            _, late = await asyncio.wait(set(self._in_flight), timeout=grace_seconds)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
