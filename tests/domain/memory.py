"""In-memory implementations of the domain's ports: test doubles, not product.

Each keeps the promise its Protocol documents and the PostgreSQL/Redis adapter keeps
(a claim is pending → running only when not expired; a lock has one owner until its TTL
runs out on the clock), so engine and policy can be tested on their own, fast.
A claim yields to the event loop before it decides, so concurrent confirms really
interleave instead of running one after another.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import errors
from bot.runbooks.executions import AuditEntry, Execution, State, StepRecord
from bot.runbooks.locking import Holder
from bot.scheduler import Job

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class ManualClock:
    """A clock that moves only when a test moves it."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class MemoryExecutionStore:
    """The ExecutionStore port in a dict; `audit_log` is every audit row, in order."""

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock
        self.executions: dict[uuid.UUID, Execution] = {}
        self.audit_log: list[AuditEntry] = []
        self.available = True  # False: every call raises UnavailableError, as PostgreSQL down does
        self.down_for: set[str] = set()  # names of calls that raise UnavailableError (a partial outage)
        self.beats: list[uuid.UUID] = []  # the execution each heartbeat was for
        self.owners: dict[uuid.UUID, str] = {}  # the replica that claimed each execution
        self.heartbeat_at: dict[uuid.UUID, datetime] = {}  # last sign of life of each running execution

    def _check(self, call: str = "") -> None:
        if not self.available or call in self.down_for:
            raise errors.UnavailableError("PostgreSQL", "connection refused")

    def kinds(self, execution_id: uuid.UUID | None = None) -> list[str]:
        return [e.kind for e in self.audit_log if execution_id is None or e.execution_id == execution_id]

    async def create(self, execution: Execution, audit: Sequence[AuditEntry]) -> None:
        self._check()
        self.executions[execution.id] = execution
        self.audit_log.extend(audit)

    async def get(self, execution_id: uuid.UUID) -> Execution | None:
        self._check()
        return self.executions.get(execution_id)

    async def set_message(self, execution_id: uuid.UUID, channel_id: str, message_ts: str) -> None:
        self._check()
        self.executions[execution_id] = replace(
            self.executions[execution_id], channel_id=channel_id, message_ts=message_ts
        )

    def _transition(
        self, execution_id: uuid.UUID, when: State, audit: AuditEntry, **changes: object
    ) -> Execution | None:
        current = self.executions.get(execution_id)
        if current is None or current.state != when:
            return None
        updated = replace(current, **changes)  # type: ignore[arg-type]
        self.executions[execution_id] = updated
        self.audit_log.append(audit)
        return updated

    async def claim(self, execution_id: uuid.UUID, *, approver: str, owner: str, audit: AuditEntry) -> Execution | None:
        await asyncio.sleep(0)  # let every concurrent click reach this point before any decides
        self._check()
        current = self.executions.get(execution_id)
        if current is None or current.expires_at <= self._clock():
            return None
        if current.state == State.PENDING:
            self.owners[execution_id] = owner
            self.heartbeat_at[execution_id] = self._clock()
        return self._transition(
            execution_id, State.PENDING, audit, state=State.RUNNING, approver=approver, started_at=self._clock()
        )

    async def unclaim(self, execution_id: uuid.UUID, audit: AuditEntry) -> None:
        self._check()
        self._transition(execution_id, State.RUNNING, audit, state=State.PENDING, approver=None, started_at=None)

    async def record_step(self, execution_id: uuid.UUID, step: StepRecord, audit: AuditEntry) -> None:
        self._check("record_step")
        current = self.executions[execution_id]
        self.executions[execution_id] = replace(current, steps=(*current.steps, step))
        self.heartbeat_at[execution_id] = self._clock()
        self.audit_log.append(audit)

    async def heartbeat(self, execution_id: uuid.UUID) -> None:
        self.beats.append(execution_id)
        self._check("heartbeat")
        if execution_id in self.heartbeat_at:
            self.heartbeat_at[execution_id] = self._clock()

    async def finish(
        self, execution_id: uuid.UUID, state: State, *, error: str | None, audit: AuditEntry
    ) -> Execution | None:
        self._check("finish")
        return self._transition(execution_id, State.RUNNING, audit, state=state, error=error, finished_at=self._clock())

    async def cancel(self, execution_id: uuid.UUID, audit: AuditEntry) -> Execution | None:
        await asyncio.sleep(0)  # as a claim does: a Cancel and a Confirm clicked together interleave
        self._check()
        return self._transition(execution_id, State.PENDING, audit, state=State.CANCELLED, finished_at=self._clock())

    async def expire_due(self) -> list[Execution]:
        self._check()
        now = self._clock()
        due = [e for e in self.executions.values() if e.state == State.PENDING and e.expires_at <= now]
        expired = []
        for execution in due:
            entry = AuditEntry(kind="expired", actor="runbook-bot", execution_id=execution.id)
            done = self._transition(execution.id, State.PENDING, entry, state=State.EXPIRED, finished_at=now)
            if done is not None:
                expired.append(done)
        return expired

    async def interrupt_orphans(self, *, stale_after_seconds: float) -> list[Execution]:
        """Running executions whose last heartbeat is older than `stale_after_seconds` → interrupted."""
        self._check()
        now = self._clock()
        stale = [
            e
            for e in self.executions.values()
            if e.state == State.RUNNING
            and self.heartbeat_at.get(e.id, now) < now - timedelta(seconds=stale_after_seconds)
        ]
        interrupted = []
        for execution in stale:
            entry = AuditEntry(kind="interrupted", actor="runbook-bot", execution_id=execution.id)
            done = self._transition(
                execution.id, State.RUNNING, entry, state=State.INTERRUPTED, error="lost track", finished_at=now
            )
            if done is not None:
                interrupted.append(done)
        return interrupted

    async def recent(self, *, service: str | None, limit: int) -> list[Execution]:
        self._check()
        chosen = [e for e in self.executions.values() if service is None or e.service == service]
        return sorted(chosen, key=lambda e: e.created_at, reverse=True)[:limit]

    async def last_started(self, lock_key: str) -> Execution | None:
        self._check()
        started = [e for e in self.executions.values() if e.lock_key == lock_key and e.started_at is not None]
        return max(started, key=lambda e: e.started_at or START, default=None)

    async def audit(self, entry: AuditEntry) -> None:
        self._check()
        self.audit_log.append(entry)


@dataclass(frozen=True)
class MemoryLock:
    name: str
    token: uuid.UUID


class MemoryLocks:
    """The Locks port: one owner per name until released or its TTL passes on the clock; a lock
    records the execution holding it, and `release_of` frees it only while that execution does."""

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock
        self._held: dict[str, tuple[uuid.UUID, Holder, datetime]] = {}
        self.available = True  # False: acquire/holder/release raise UnavailableError, as Redis down does
        self.acquired: list[str] = []  # every successful acquire, in order

    def _check(self) -> None:
        if not self.available:
            raise errors.UnavailableError("Redis", "connection refused")

    def _live(self, name: str) -> tuple[uuid.UUID, Holder, datetime] | None:
        held = self._held.get(name)
        if held is not None and held[2] <= self._clock():
            del self._held[name]
            return None
        return held

    def held(self, name: str) -> bool:
        return self._live(name) is not None

    def take(
        self,
        name: str,
        *,
        owner: str,
        procedure: str = "another-change",
        service: str | None = "backend",
        ttl_seconds: int = 600,
        execution: str | None = None,
    ) -> MemoryLock:
        """Hold a lock as some other change would (a test's setup)."""
        token = uuid.uuid4()
        since = self._clock().timestamp()
        holder = Holder(owner, since, procedure, service, execution=execution)
        self._held[name] = (token, holder, self._clock() + timedelta(seconds=ttl_seconds))
        return MemoryLock(name, token)

    async def acquire(
        self, name: str, *, owner: str, procedure: str, service: str | None, ttl_seconds: int, execution: str
    ) -> object:
        self._check()
        held = self._live(name)
        if held is not None:
            return held[1]
        self.acquired.append(name)
        return self.take(
            name, owner=owner, procedure=procedure, service=service, ttl_seconds=ttl_seconds, execution=execution
        )

    async def release(self, token: object) -> None:
        self._check()
        assert isinstance(token, MemoryLock)
        held = self._held.get(token.name)
        if held is not None and held[0] == token.token:  # never free a lock someone else took over
            del self._held[token.name]

    async def release_of(self, name: str, execution: str) -> bool:
        self._check()
        held = self._live(name)
        if held is None or held[1].execution != execution:  # never free a lock another execution holds
            return False
        del self._held[name]
        return True

    async def holder(self, name: str) -> Holder | None:
        self._check()
        held = self._live(name)
        return None if held is None else held[1]


class MemoryGroups:
    """The GroupDirectory port: user → the user groups (handles or ids) they belong to."""

    def __init__(self, groups: dict[str, frozenset[str]] | None = None) -> None:
        self.groups = dict(groups or {})
        self.lookups: list[str] = []
        self.available = True  # False: lookups raise UnavailableError, as Slack's usergroups API down does

    async def groups_of(self, user_id: str) -> frozenset[str]:
        self.lookups.append(user_id)
        if not self.available:
            raise errors.UnavailableError("Slack", "usergroups.list failed")
        return self.groups.get(user_id, frozenset())


class MemoryRateLimiter:
    """The RateLimiter port: distinct members per key over a sliding window on the clock (as the Redis
    sorted set: a member counted once however often it is hit, a member refused is not counted)."""

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock
        self._members: dict[str, dict[str, datetime]] = {}  # key → member → when it was first counted

    async def hit(self, key: str, *, limit: int, window_seconds: int, member: str) -> int | None:
        now = self._clock()
        window = timedelta(seconds=window_seconds)
        counted = {m: at for m, at in self._members.get(key, {}).items() if at > now - window}
        counted.setdefault(member, now)
        if len(counted) <= limit:
            self._members[key] = counted
            return None
        del counted[member]
        self._members[key] = counted
        return max(1, math.ceil((min(counted.values(), default=now) + window - now).total_seconds()))


@dataclass
class StoredJob:
    job: Job
    state: str = "pending"
    owner: str | None = None
    claimed_at: datetime | None = None
    error: str | None = None


class MemoryJobStore:
    """The scheduler's JobStore port; share one between two Schedulers to play two replicas."""

    def __init__(self) -> None:
        self.jobs: dict[str, StoredJob] = {}  # by key
        self.fires: dict[tuple[str, datetime], str] = {}  # (job id, fire time) → the replica that ran it

    def state(self, key: str) -> str:
        return self.jobs[key].state

    async def add(self, kind: str, key: str, run_at: datetime, payload: Mapping[str, Any]) -> bool:
        if key in self.jobs:
            return False
        self.jobs[key] = StoredJob(Job(uuid.uuid4(), kind, key, run_at, dict(payload), late=False))
        return True

    async def cancel(self, key_prefix: str) -> int:
        chosen = [s for k, s in self.jobs.items() if k.startswith(key_prefix) and s.state == "pending"]
        for stored in chosen:
            stored.state = "cancelled"
        return len(chosen)

    async def pending(self, key_prefix: str) -> list[Job]:
        chosen = [s.job for k, s in self.jobs.items() if k.startswith(key_prefix) and s.state == "pending"]
        return sorted(chosen, key=lambda j: j.run_at)

    async def claim_due(self, now: datetime, *, owner: str, limit: int, stale_before: datetime) -> list[Job]:
        await asyncio.sleep(0)

        def due(stored: StoredJob) -> bool:
            if stored.state == "claimed":
                return stored.claimed_at is not None and stored.claimed_at < stale_before
            return stored.state == "pending" and stored.job.run_at <= now

        chosen = sorted((s for s in self.jobs.values() if due(s)), key=lambda s: s.job.run_at)[:limit]
        claimed = []
        for stored in chosen:
            stored.state, stored.owner, stored.claimed_at = "claimed", owner, now
            stored.job = replace(stored.job, late=stored.job.run_at < now - timedelta(seconds=60))
            claimed.append(stored.job)
        return claimed

    async def release(self, job_ids: Sequence[uuid.UUID]) -> None:
        for stored in self.jobs.values():
            if stored.job.id in job_ids and stored.state == "claimed":
                stored.state, stored.owner, stored.claimed_at = "pending", None, None

    async def settle(self, job_id: uuid.UUID, state: str, error: str | None) -> None:
        stored = next(s for s in self.jobs.values() if s.job.id == job_id)
        stored.state, stored.error = state, error

    async def claim_fire(self, job_id: str, fire_at: datetime, *, owner: str, late: bool) -> bool:
        await asyncio.sleep(0)
        if (job_id, fire_at) in self.fires:
            return False
        self.fires[(job_id, fire_at)] = owner
        return True
