"""The execution store's claim is the one statement that makes a confirmation run once: test it on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.runbooks.executions import AuditEntry, State
from bot.store import audit
from bot.store.db import Database
from bot.store.executions import PostgresExecutionStore
from tests.store.conftest import new_execution


def entry(kind: str, actor: str = "U0ALICE") -> AuditEntry:
    return AuditEntry(kind=kind, actor=actor, channel_id="C0OPS")


async def audit_kinds(db: Database) -> list[str]:
    async with db.acquire() as conn:
        return [r["kind"] for r in await conn.fetch("SELECT kind FROM audit_log ORDER BY seq")]


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
