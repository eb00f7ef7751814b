"""The execution store's claim is the one statement that makes a confirmation run once: test it on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import timedelta

from bot.runbooks.executions import AuditEntry, State, StepRecord
from bot.store import audit
from bot.store.db import Database
from bot.store.executions import PostgresExecutionStore
from tests.store.conftest import new_execution


def entry(kind: str, actor: str = "U0ALICE") -> AuditEntry:
    return AuditEntry(kind=kind, actor=actor, channel_id="C0OPS")


async def audit_kinds(db: Database) -> list[str]:
    async with db.acquire() as conn:
        return [r["kind"] for r in await conn.fetch("SELECT kind FROM audit_log ORDER BY seq")]


async def last_audit_detail(db: Database) -> object:
    async with db.acquire() as conn:
        return json.loads(await conn.fetchval("SELECT detail FROM audit_log ORDER BY seq DESC LIMIT 1"))


async def test_a_lone_audit_row_is_appended_to_the_chain(db: Database) -> None:
    store = PostgresExecutionStore(db)

    await store.audit(AuditEntry(kind="denied", actor="U0CAROL", channel_id="C0OPS", detail={"reason": "role"}))

    assert await audit_kinds(db) == ["denied"]
    assert await last_audit_detail(db) == {"reason": "role"}
    assert (await audit.verify(db)).ok


async def test_twenty_concurrent_claims_on_separate_connections_have_one_winner(db: Database) -> None:
    store = PostgresExecutionStore(db)
    execution = new_execution()
    await store.create(execution, [entry("request")])

    won = await asyncio.gather(
        *(
            store.claim(execution.id, approver=f"U{n}", owner=f"replica-{n % 2}", audit=entry("confirmed", f"U{n}"))
            for n in range(20)
        )
    )

    winners = [w for w in won if w is not None]
    assert len(winners) == 1
    assert winners[0].state == State.RUNNING
    stored = await store.get(execution.id)
    assert stored is not None
    assert (stored.state, stored.approver) == (State.RUNNING, winners[0].approver)
    assert await audit_kinds(db) == ["request", "confirmed"]  # losers write no audit row


async def test_a_claim_after_the_run_finished_is_refused(db: Database) -> None:
    store = PostgresExecutionStore(db)
    execution = new_execution()
    await store.create(execution, [])
    assert await store.claim(execution.id, approver="U0ALICE", owner="r", audit=entry("confirmed")) is not None
    finished = await store.finish(execution.id, State.SUCCEEDED, error=None, audit=entry("outcome"))
    assert finished is not None
    assert finished.state == State.SUCCEEDED

    assert await store.claim(execution.id, approver="U0BOB", owner="r", audit=entry("confirmed")) is None


async def test_an_expired_request_cannot_be_claimed_and_is_swept(db: Database) -> None:
    store = PostgresExecutionStore(db)
    execution = new_execution(expires_in=timedelta(seconds=-1))
    await store.create(execution, [])

    assert await store.claim(execution.id, approver="U0ALICE", owner="r", audit=entry("confirmed")) is None
    assert [e.id for e in await store.expire_due()] == [execution.id]
    assert await audit_kinds(db) == ["expired"]
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT actor, channel_id, execution_id, procedure FROM audit_log")
    assert dict(row) == {
        "actor": "runbook-bot",
        "channel_id": "C0OPS",
        "execution_id": execution.id,
        "procedure": "scale",
    }
    assert await last_audit_detail(db) == {"reason": "not confirmed in time"}
    stored = await store.get(execution.id)
    assert stored is not None
    assert stored.state == State.EXPIRED


async def test_an_unclaimed_execution_is_pending_and_claimable_again(db: Database) -> None:
    store = PostgresExecutionStore(db)
    execution = new_execution()
    await store.create(execution, [])
    await store.claim(execution.id, approver="U0ALICE", owner="r", audit=entry("confirmed"))

    await store.unclaim(execution.id, entry("lock_busy", "runbook-bot"))

    stored = await store.get(execution.id)
    assert stored is not None
    assert (stored.state, stored.approver) == (State.PENDING, None)
    assert await store.claim(execution.id, approver="U0BOB", owner="r", audit=entry("confirmed")) is not None


async def test_cancel_and_claim_racing_have_one_winner(db: Database) -> None:
    store = PostgresExecutionStore(db)
    for _ in range(5):
        execution = new_execution()
        await store.create(execution, [])

        cancelled, claimed = await asyncio.gather(
            store.cancel(execution.id, entry("cancelled")),
            store.claim(execution.id, approver="U0ALICE", owner="r", audit=entry("confirmed")),
        )

        assert (cancelled is None) != (claimed is None)


async def test_a_cancelled_request_cannot_be_claimed(db: Database) -> None:
    store = PostgresExecutionStore(db)
    execution = new_execution()
    await store.create(execution, [])
    assert await store.cancel(execution.id, entry("cancelled")) is not None

    assert await store.claim(execution.id, approver="U0ALICE", owner="r", audit=entry("confirmed")) is None
    assert await store.cancel(execution.id, entry("cancelled")) is None


async def test_every_transition_commits_with_an_audit_row_that_verifies(db: Database) -> None:
    store = PostgresExecutionStore(db)
    execution = new_execution()
    await store.create(execution, [entry("request"), entry("preview", "runbook-bot")])
    await store.claim(execution.id, approver="U0ALICE", owner="r", audit=entry("confirmed"))
    await store.finish(execution.id, State.SUCCEEDED, error=None, audit=entry("outcome", "runbook-bot"))

    assert await audit_kinds(db) == ["request", "preview", "confirmed", "outcome"]
    assert (await audit.verify(db)).ok


async def test_a_running_execution_without_recent_heartbeats_is_interrupted_once(db: Database) -> None:
    store = PostgresExecutionStore(db)
    stale, fresh = new_execution(), new_execution()
    for execution in (stale, fresh):
        await store.create(execution, [])
        await store.claim(execution.id, approver="U0ALICE", owner="r", audit=entry("confirmed"))
    async with db.acquire() as conn:
        await conn.execute("UPDATE executions SET heartbeat_at = now() - interval '1 minute'")
    await store.heartbeat(fresh.id)  # only this one is still beating

    interrupted = await store.interrupt_orphans(stale_after_seconds=30)

    assert [e.id for e in interrupted] == [stale.id]
    assert interrupted[0].state == State.INTERRUPTED
    assert interrupted[0].error
    assert await store.interrupt_orphans(stale_after_seconds=30) == []
    assert (await audit_kinds(db))[-1] == "interrupted"
    assert await last_audit_detail(db) == {"reason": "bot restarted while running"}


async def test_steps_accumulate_and_the_message_is_remembered(db: Database) -> None:
    store = PostgresExecutionStore(db)
    execution = new_execution()
    await store.create(execution, [])
    await store.set_message(execution.id, "C0INCIDENTS", "1700000000.000100")
    for index in range(2):
        await store.record_step(execution.id, StepRecord(index, f"step {index}", True, "ok", 0.5), entry("step"))

    stored = await store.get(execution.id)
    assert stored is not None
    assert (stored.channel_id, stored.message_ts) == ("C0INCIDENTS", "1700000000.000100")
    assert [s.label for s in stored.steps] == ["step 0", "step 1"]
    assert stored.args == {"service": "backend", "replicas": 5}
    assert stored.preview is None


async def test_recent_lists_newest_first_filtered_by_service_and_limited(db: Database) -> None:
    store = PostgresExecutionStore(db)
    made = []
    for n in range(4):
        execution = replace(new_execution(), service="frontend" if n in (1, 3) else "backend")
        execution = replace(execution, created_at=execution.created_at + timedelta(seconds=n))
        await store.create(execution, [])
        made.append(execution)

    assert [e.id for e in await store.recent(service="backend", limit=2)] == [made[2].id, made[0].id]
    assert [e.id for e in await store.recent(service="frontend", limit=1)] == [made[3].id]
    assert [e.id for e in await store.recent(service=None, limit=10)] == [e.id for e in reversed(made)]


async def test_an_unknown_execution_is_none(db: Database) -> None:
    import uuid

    assert await PostgresExecutionStore(db).get(uuid.uuid4()) is None
