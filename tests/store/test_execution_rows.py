"""The execution store keeps every field and moves only the rows each statement names: on PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

from bot.runbooks.executions import AuditEntry, Execution, State, StepRecord
from bot.store.db import Database
from bot.store.executions import PostgresExecutionStore
from tests.store.conftest import new_execution

OTHER_LOCK = "default/mail-score-production/deployment/mail-score-frontend"


def entry(kind: str) -> AuditEntry:
    return AuditEntry(kind=kind, actor="U0ALICE", channel_id="C0OPS")


async def row(db: Database, execution: Execution, columns: str) -> dict[str, Any]:
    async with db.acquire() as conn:
        found = await conn.fetchrow(f"SELECT {columns} FROM executions WHERE id = $1", execution.id)  # noqa: S608
    assert found is not None
    return dict(found)


async def audit_rows(db: Database) -> list[tuple[str, uuid.UUID | None]]:
    async with db.acquire() as conn:
        return [(r["kind"], r["execution_id"]) for r in await conn.fetch("SELECT kind, execution_id FROM audit_log")]


async def running(store: PostgresExecutionStore, **fields: Any) -> Execution:
    execution = replace(new_execution(), **fields)
    await store.create(execution, [])
    claimed = await store.claim(execution.id, approver="U0BOB", owner="replica-1", audit=entry("confirmed"))
    assert claimed is not None
    return claimed


async def test_every_field_of_a_request_is_read_back_as_written(db: Database) -> None:
    store = PostgresExecutionStore(db)
    execution = replace(
        new_execution(),
        team_id="T0TEAM",
        message_ts="1700000000.000100",
        response_url="https://hooks.slack.test/respond/1",
        approval="two_person",
        preview={"changes": [{"what": "replicas", "before": "3", "after": "5"}], "notes": ["n"]},
        command="scale backend 5",
    )

    await store.create(execution, [entry("request")])

    assert await store.get(execution.id) == execution
    assert await audit_rows(db) == [("request", None)]


async def test_a_claim_records_who_approved_which_replica_runs_it_and_when(db: Database) -> None:
    store = PostgresExecutionStore(db)
    claimed = await running(store)

    assert (claimed.state, claimed.approver) == (State.RUNNING, "U0BOB")
    assert claimed.started_at is not None
    stored = await row(db, claimed, "owner, heartbeat_at, started_at")
    assert stored["owner"] == "replica-1"
    assert stored["heartbeat_at"] is not None


async def test_an_unclaim_forgets_the_approver_the_replica_and_the_start(db: Database) -> None:
    store = PostgresExecutionStore(db)
    claimed = await running(store)

    await store.unclaim(claimed.id, entry("lock_busy"))

    assert await row(db, claimed, "state, approver, owner, started_at") == {
        "state": "pending",
        "approver": None,
        "owner": None,
        "started_at": None,
    }
    assert [kind for kind, _ in await audit_rows(db)] == ["confirmed", "lock_busy"]


async def test_an_unclaim_of_a_request_not_running_changes_nothing(db: Database) -> None:
    store = PostgresExecutionStore(db)
    execution = new_execution()
    await store.create(execution, [])

    await store.unclaim(execution.id, entry("lock_busy"))

    assert await audit_rows(db) == []


async def test_finish_records_the_outcome_once_and_only_for_a_running_execution(db: Database) -> None:
    store = PostgresExecutionStore(db)
    claimed = await running(store)
    waiting = new_execution()
    await store.create(waiting, [])

    finished = await store.finish(claimed.id, State.FAILED, error="step 2 failed", audit=entry("outcome"))

    assert finished is not None
    assert (finished.state, finished.error) == (State.FAILED, "step 2 failed")
    assert finished.finished_at is not None
    assert await store.finish(claimed.id, State.SUCCEEDED, error=None, audit=entry("outcome")) is None
    assert await store.finish(waiting.id, State.SUCCEEDED, error=None, audit=entry("outcome")) is None
    assert [kind for kind, _ in await audit_rows(db)] == ["confirmed", "outcome"]
    stored = await store.get(waiting.id)
    assert stored is not None and stored.state == State.PENDING


async def test_cancel_closes_the_request_with_its_time(db: Database) -> None:
    store = PostgresExecutionStore(db)
    execution = new_execution()
    await store.create(execution, [])

    cancelled = await store.cancel(execution.id, entry("cancelled"))

    assert cancelled is not None
    assert (cancelled.state, cancelled.id) == (State.CANCELLED, execution.id)
    assert cancelled.finished_at is not None


async def test_a_heartbeat_moves_only_a_running_execution(db: Database) -> None:
    store = PostgresExecutionStore(db)
    claimed = await running(store)
    waiting = new_execution()
    await store.create(waiting, [])
    async with db.acquire() as conn:
        await conn.execute("UPDATE executions SET heartbeat_at = now() - interval '1 hour'")

    await store.heartbeat(claimed.id)
    await store.heartbeat(waiting.id)

    async with db.acquire() as conn:
        fresh = await conn.fetchval(
            "SELECT array_agg(id) FROM executions WHERE heartbeat_at > now() - interval '1 minute'"
        )
    assert fresh == [claimed.id]


async def test_a_recorded_step_keeps_every_field_and_counts_as_a_heartbeat(db: Database) -> None:
    store = PostgresExecutionStore(db)
    claimed = await running(store)
    async with db.acquire() as conn:
        await conn.execute("UPDATE executions SET heartbeat_at = now() - interval '1 hour'")
    step = StepRecord(index=1, label="scale", ok=False, summary="refused", seconds=1.25, details="forbidden")

    await store.record_step(claimed.id, step, entry("step"))

    stored = await store.get(claimed.id)
    assert stored is not None and tuple(stored.steps) == (step,)
    assert await store.interrupt_orphans(stale_after_seconds=60) == []


async def test_only_runs_silent_for_longer_than_the_threshold_are_interrupted(db: Database) -> None:
    store = PostgresExecutionStore(db)
    quiet, recent = await running(store), await running(store)
    async with db.acquire() as conn:
        await conn.execute("UPDATE executions SET heartbeat_at = now() - interval '40 seconds' WHERE id = $1", quiet.id)
        await conn.execute(
            "UPDATE executions SET heartbeat_at = now() - interval '20 seconds' WHERE id = $1", recent.id
        )

    interrupted = await store.interrupt_orphans(stale_after_seconds=30.5)

    assert [e.id for e in interrupted] == [quiet.id]
    assert interrupted[0].finished_at is not None
    assert interrupted[0].error is not None and "not re-run" in interrupted[0].error
    assert ("interrupted", quiet.id) in await audit_rows(db)


async def test_the_sweep_expires_only_pending_requests_past_their_time(db: Database) -> None:
    store = PostgresExecutionStore(db)
    due = new_execution(expires_in=timedelta(seconds=-1))
    later = new_execution()
    for execution in (due, later):
        await store.create(execution, [])
    claimed = await running(store, expires_at=due.expires_at + timedelta(seconds=3))

    expired = await store.expire_due()

    assert [(e.id, e.state) for e in expired] == [(due.id, State.EXPIRED)]
    assert expired[0].finished_at is not None
    for execution, state in ((later, State.PENDING), (claimed, State.RUNNING)):
        stored = await store.get(execution.id)
        assert stored is not None and stored.state == state


async def test_the_last_started_run_of_a_target_is_found(db: Database) -> None:
    store = PostgresExecutionStore(db)
    assert await store.last_started(new_execution().lock_key or "") is None
    first = await running(store)
    second = await running(store)
    await running(store, lock_key=OTHER_LOCK)
    never_started = new_execution()
    await store.create(never_started, [])
    async with db.acquire() as conn:
        await conn.execute("UPDATE executions SET started_at = now() - interval '1 minute' WHERE id = $1", first.id)

    last = await store.last_started(second.lock_key or "")

    assert last is not None and last.id == second.id


async def test_the_message_is_remembered_for_that_request_only(db: Database) -> None:
    store = PostgresExecutionStore(db)
    one, other = new_execution(), new_execution()
    for execution in (one, other):
        await store.create(execution, [])

    await store.set_message(one.id, "C0INCIDENTS", "1700000000.000200")

    stored, untouched = await store.get(one.id), await store.get(other.id)
    assert stored is not None and (stored.channel_id, stored.message_ts) == ("C0INCIDENTS", "1700000000.000200")
    assert untouched is not None and (untouched.channel_id, untouched.message_ts) == ("C0OPS", None)
