"""The engine on in-memory ports: exactly once, expiry, two-person, channels, Cancel, locks."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import replace

import pytest

from bot import errors
from bot.catalog import Catalog
from bot.runbooks.engine import Invocation, PendingOutcome, ReadOnlyOutcome
from bot.runbooks.executions import AuditEntry, Execution, State, StepRecord
from bot.runbooks.locking import BusyError, Holder, lock_name
from tests.domain.conftest import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    INCIDENTS,
    OPS,
    PROCEDURES,
    RANDOM,
    Domain,
    make_domain,
    no_progress,
)

BACKEND_LOCK = "kubernetes:default/mail-score-production/deployment/mail-score-backend"


async def pending(
    domain: Domain, name: str = "scale", user: str = ALICE, channel: str = OPS, **args: object
) -> Execution:
    outcome = await domain.engine.request(domain.command(name, **{"replicas": 5, **args}), domain.who(user, channel))
    assert isinstance(outcome, PendingOutcome)
    return outcome.execution


async def state_of(domain: Domain, execution: Execution) -> State:
    current = await domain.store.get(execution.id)
    assert current is not None
    return current.state


def test_the_lock_of_a_service_is_its_deployment(domain: Domain) -> None:
    catalog, scale = domain.engine.catalog, PROCEDURES["scale"]
    assert lock_name(catalog, "backend", scale, domain.registry) == BACKEND_LOCK
    assert lock_name(catalog, None, scale, domain.registry) is None


async def test_request_previews_with_a_dry_run_and_changes_nothing(domain: Domain) -> None:
    outcome = await domain.engine.request(domain.command("scale", replicas=5), domain.who(ALICE))
    assert isinstance(outcome, PendingOutcome)
    execution = outcome.execution
    assert outcome.procedure is PROCEDURES["scale"]
    assert [(c.what, c.before, c.after) for c in outcome.changes] == [("replicas", "3", "5")]
    assert outcome.notes == (errors.Said("k8s_value_set", dry_run=True, target="replicas", value="5"),)
    preview = domain.store.audit_log[1]
    assert (preview.kind, preview.actor) == ("preview", "runbook-bot")
    assert preview.detail == {"changes": [{"what": "replicas", "before": "3", "after": "5"}]}

    assert domain.target.runs == []
    assert domain.target.dry_runs == [{"service": "backend", "replicas": 5}]
    assert execution.state == State.PENDING
    assert (execution.requester, execution.service, execution.approval) == (ALICE, "backend", "none")
    assert execution.created_at == domain.clock.now
    assert execution.id in domain.store.executions
    assert execution.lock_key == BACKEND_LOCK
    assert (execution.expires_at - domain.clock.now).total_seconds() == 5 * 60
    assert execution.preview == {
        "changes": [{"what": "replicas", "before": "3", "after": "5"}],
        "notes": ["Dry run: would set replicas to 5"],  # as said at the time, in plain text
        "args": {"service": "backend", "replicas": 5},
        "seen": [{"index": 0, "changes": [["replicas", "3"]], "data": {}}],  # what a confirmation checks again
    }
    assert domain.store.kinds(execution.id) == ["request", "preview"]
    assert not domain.locks.held(BACKEND_LOCK)


async def test_confirm_runs_the_change_once_and_records_every_step(domain: Domain) -> None:
    execution = await pending(domain)

    final = await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert final.state == State.SUCCEEDED
    assert final.approver == ALICE
    assert domain.store.owners[execution.id] == "replica-1"
    assert domain.target.runs == [{"service": "backend", "replicas": 5}]
    assert [s.ok for s in final.steps] == [True]
    assert domain.store.kinds(execution.id) == ["request", "preview", "confirmed", "step", "outcome"]
    assert {(e.channel_id, e.procedure) for e in domain.store.audit_log} == {(OPS, "scale")}
    confirmed = domain.store.audit_log[2]
    assert confirmed.actor == ALICE
    assert confirmed.detail == {"as": "requester"}
    assert not domain.locks.held(BACKEND_LOCK)
    assert domain.locks.acquired == [BACKEND_LOCK]


async def test_fifty_concurrent_confirms_by_two_people_run_the_change_once(domain: Domain) -> None:
    execution = await pending(domain)

    results = await asyncio.gather(
        *(domain.engine.confirm(execution.id, ALICE if i % 2 else BOB, OPS, no_progress) for i in range(50)),
        return_exceptions=True,
    )

    ran = [r for r in results if isinstance(r, Execution)]
    refused = [r for r in results if isinstance(r, errors.UserError)]
    assert len(ran) == 1
    assert len(refused) == 49
    assert not any(isinstance(r, errors.DeniedError) for r in refused)
    assert len(domain.target.runs) == 1
    assert domain.store.kinds(execution.id).count("confirmed") == 1
    assert await state_of(domain, execution) == State.SUCCEEDED


async def test_a_confirm_after_the_run_does_not_run_again(domain: Domain) -> None:
    execution = await pending(domain)
    await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    with pytest.raises(errors.UserError):
        await domain.engine.confirm(execution.id, BOB, OPS, no_progress)

    assert len(domain.target.runs) == 1


async def test_a_request_confirmed_just_before_it_expires_runs(domain: Domain) -> None:
    execution = await pending(domain)
    domain.clock.advance(minutes=5, seconds=-1)

    final = await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert final.state == State.SUCCEEDED


async def test_an_expired_request_cannot_be_confirmed_and_is_swept_as_expired(domain: Domain) -> None:
    execution = await pending(domain)
    domain.clock.advance(minutes=5)

    with pytest.raises(errors.UserError) as refused:
        await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert not isinstance(refused.value, errors.DeniedError)
    assert domain.target.runs == []
    assert "confirmed" not in domain.store.kinds(execution.id)
    expired = await domain.store.expire_due()
    assert [e.id for e in expired] == [execution.id]
    assert await state_of(domain, execution) == State.EXPIRED


async def test_the_store_refuses_a_claim_the_engine_let_through_after_expiry(domain: Domain) -> None:
    """The claim itself checks expiry: the engine's own check is not the only guard."""
    execution = await pending(domain)
    domain.clock.advance(minutes=6)

    claimed = await domain.store.claim(
        execution.id, approver=ALICE, owner="replica-1", audit=AuditEntry(kind="confirmed", actor=ALICE)
    )

    assert claimed is None


async def test_an_unknown_request_is_not_found(domain: Domain) -> None:
    with pytest.raises(errors.NotFoundError) as missing:
        await domain.engine.confirm(uuid.uuid4(), ALICE, OPS, no_progress)
    assert missing.value.message


# ---- two-person approval --------------------------------------------------------------------------


async def test_two_person_requester_cannot_confirm_their_own_request(domain: Domain) -> None:
    execution = await pending(domain, "rollback")

    with pytest.raises(errors.DeniedError) as denied:
        await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert denied.value.reason == "same_approver"
    assert denied.value.message
    assert domain.target.runs == []
    assert await state_of(domain, execution) == State.PENDING
    assert domain.store.kinds(execution.id)[-1] == "denied"


async def test_two_person_an_approver_cannot_approve_their_own_request(domain: Domain) -> None:
    execution = await pending(domain, "rollback", user=BOB)

    with pytest.raises(errors.DeniedError) as denied:
        await domain.engine.confirm(execution.id, BOB, OPS, no_progress)

    assert denied.value.reason == "same_approver"
    assert domain.target.runs == []


async def test_two_person_a_second_operator_without_the_approver_role_is_refused(domain: Domain) -> None:
    domain.groups.groups[DAVE] = frozenset({"sre-oncall"})  # operator through a group, not an approver
    execution = await pending(domain, "rollback")

    with pytest.raises(errors.DeniedError) as denied:
        await domain.engine.confirm(execution.id, DAVE, OPS, no_progress)

    assert denied.value.reason == "approver_role"
    assert denied.value.message
    assert domain.target.runs == []
    assert await state_of(domain, execution) == State.PENDING


async def test_two_person_an_approver_who_may_not_run_the_procedure_is_refused(domain: Domain) -> None:
    domain.groups.groups[DAVE] = frozenset({"sre-leads"})  # approver through a group, not an operator
    execution = await pending(domain, "rollback")

    with pytest.raises(errors.DeniedError) as denied:
        await domain.engine.confirm(execution.id, DAVE, OPS, no_progress)

    assert denied.value.reason == "role"
    assert domain.target.runs == []


async def test_two_person_a_different_approver_runs_it(domain: Domain) -> None:
    execution = await pending(domain, "rollback")

    final = await domain.engine.confirm(execution.id, BOB, OPS, no_progress)

    assert execution.approval == "two_person"
    assert final.state == State.SUCCEEDED
    assert final.approver == BOB
    assert len(domain.target.runs) == 1
    confirmed = [e for e in domain.store.audit_log if e.kind == "confirmed"]
    assert [(e.actor, e.detail) for e in confirmed] == [(BOB, {"as": "approver"})]


async def test_roles_are_checked_again_at_the_click(domain: Domain) -> None:
    """Someone who lost the operator role between request and click may not confirm."""
    domain.groups.groups[DAVE] = frozenset({"sre-oncall"})
    execution = await pending(domain, user=DAVE)
    domain.groups.groups[DAVE] = frozenset()

    with pytest.raises(errors.DeniedError) as denied:
        await domain.engine.confirm(execution.id, DAVE, OPS, no_progress)

    assert denied.value.reason == "role"
    assert domain.target.runs == []


# ---- who may confirm a one-person request ------------------------------------------------------------


async def test_another_operator_without_the_approver_role_cannot_confirm(domain: Domain) -> None:
    execution = await pending(domain, user=BOB)

    with pytest.raises(errors.DeniedError) as denied:
        await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert denied.value.reason == "not_requester"
    assert errors.User(BOB) in denied.value.parts  # the requester, who may confirm
    assert domain.target.runs == []


async def test_an_approver_may_confirm_someone_elses_request(domain: Domain) -> None:
    execution = await pending(domain)

    final = await domain.engine.confirm(execution.id, BOB, OPS, no_progress)

    assert final.state == State.SUCCEEDED
    assert [e.detail for e in domain.store.audit_log if e.kind == "confirmed"] == [{"as": "approver"}]


async def test_a_viewer_clicking_confirm_is_refused(domain: Domain) -> None:
    execution = await pending(domain)

    with pytest.raises(errors.DeniedError) as denied:
        await domain.engine.confirm(execution.id, CAROL, OPS, no_progress)

    assert denied.value.reason == "role"
    assert "`operator`" in denied.value.message
    assert domain.target.runs == []


async def test_a_viewer_request_for_a_change_creates_nothing_and_is_audited(domain: Domain) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await domain.engine.request(domain.command("scale", replicas=5), domain.who(CAROL))

    assert denied.value.reason == "role"
    assert domain.store.executions == {}
    assert domain.target.dry_runs == []
    [entry] = domain.store.audit_log
    assert (entry.kind, entry.actor, entry.detail["reason"]) == ("denied", CAROL, "role")


async def test_a_read_only_procedure_runs_at_once_and_creates_no_execution(domain: Domain) -> None:
    outcome = await domain.engine.request(domain.command("status"), domain.who(CAROL, RANDOM))

    assert isinstance(outcome, ReadOnlyOutcome)
    assert outcome.procedure is PROCEDURES["status"]
    assert outcome.args == {"service": "backend"}
    assert [r.summary for r in outcome.results] == [errors.Said("k8s_pods", pods=1, ready=1)]
    assert domain.target.read_services == ["backend"]
    assert domain.target.reads == 1
    assert domain.store.executions == {}
    assert domain.store.audit_log == []


# ---- channel guardrails ------------------------------------------------------------------------


async def test_a_change_requested_outside_its_channels_is_refused_and_creates_nothing(domain: Domain) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await domain.engine.request(domain.command("scale", replicas=5), domain.who(ALICE, RANDOM))

    assert denied.value.reason == "channel"
    assert domain.store.executions == {}
    assert domain.target.dry_runs == []
    assert domain.store.kinds() == ["denied"]


async def test_a_change_may_be_requested_in_each_of_its_channels(domain: Domain) -> None:
    first = await pending(domain, channel=OPS)
    second = await pending(domain, channel=INCIDENTS, service="frontend")

    assert (first.channel_id, second.channel_id) == (OPS, INCIDENTS)


async def test_a_procedure_without_channels_runs_anywhere(domain: Domain) -> None:
    execution = await pending(domain, "anywhere", channel=RANDOM)

    final = await domain.engine.confirm(execution.id, ALICE, RANDOM, no_progress)

    assert final.state == State.SUCCEEDED


async def test_a_click_from_another_channel_is_refused(domain: Domain) -> None:
    execution = await pending(domain, channel=OPS)

    with pytest.raises(errors.DeniedError) as denied:
        await domain.engine.confirm(execution.id, ALICE, INCIDENTS, no_progress)

    assert denied.value.reason == "channel"
    assert denied.value.message
    assert domain.target.runs == []
    assert await state_of(domain, execution) == State.PENDING


# ---- Cancel ----------------------------------------------------------------------------------


async def test_cancel_never_runs_the_change_and_a_later_confirm_is_refused(domain: Domain) -> None:
    execution = await pending(domain)

    cancelled = await domain.engine.cancel(execution.id, ALICE, OPS)

    assert cancelled.state == State.CANCELLED
    assert domain.target.runs == []
    assert domain.store.kinds(execution.id)[-1] == "cancelled"
    with pytest.raises(errors.UserError):
        await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)
    assert domain.target.runs == []
    assert domain.locks.acquired == []


async def test_another_operator_may_cancel_but_a_viewer_may_not(domain: Domain) -> None:
    first = await pending(domain)
    second = await pending(domain, service="frontend")

    with pytest.raises(errors.DeniedError) as denied:
        await domain.engine.cancel(first.id, CAROL, OPS)
    assert denied.value.reason == "cancel"
    assert errors.User(ALICE) in denied.value.parts  # who may cancel it instead
    assert await state_of(domain, first) == State.PENDING

    assert (await domain.engine.cancel(second.id, BOB, OPS)).state == State.CANCELLED
    cancelled = domain.store.audit_log[-1]
    assert (cancelled.kind, cancelled.actor, cancelled.execution_id) == ("cancelled", BOB, second.id)


async def test_cancel_after_the_run_changes_nothing(domain: Domain) -> None:
    execution = await pending(domain)
    await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    with pytest.raises(errors.UserError):
        await domain.engine.cancel(execution.id, ALICE, OPS)

    assert await state_of(domain, execution) == State.SUCCEEDED


async def test_cancel_and_confirm_racing_leave_exactly_one_outcome(domain: Domain) -> None:
    execution = await pending(domain)

    results = await asyncio.gather(
        domain.engine.cancel(execution.id, ALICE, OPS),
        domain.engine.confirm(execution.id, ALICE, OPS, no_progress),
        return_exceptions=True,
    )

    final = await state_of(domain, execution)
    assert final in (State.CANCELLED, State.SUCCEEDED)
    assert len(domain.target.runs) == (1 if final == State.SUCCEEDED else 0)
    assert sum(isinstance(r, Execution) for r in results) == 1


# ---- the per-target lock --------------------------------------------------------------------------


async def test_a_request_on_a_busy_target_is_refused_before_anything_is_created(domain: Domain) -> None:
    domain.locks.take(BACKEND_LOCK, owner=BOB)

    with pytest.raises(BusyError) as busy:
        await domain.engine.request(domain.command("scale", replicas=5), domain.who(ALICE))

    assert errors.User(BOB) in busy.value.parts  # who holds the target
    assert busy.value.holder.owner == BOB  # and as data, for whoever handles the error
    assert "backend" in busy.value.message
    assert "None" not in busy.value.message
    assert domain.store.executions == {}
    assert domain.target.dry_runs == []


async def test_a_confirm_on_a_busy_target_runs_nothing_and_stays_confirmable(domain: Domain) -> None:
    execution = await pending(domain)
    other = domain.locks.take(BACKEND_LOCK, owner=BOB)

    with pytest.raises(BusyError) as busy:
        await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert "backend" in busy.value.message
    assert "None" not in busy.value.message
    assert domain.target.runs == []
    assert await state_of(domain, execution) == State.PENDING
    lock_busy = domain.store.audit_log[-1]
    assert (lock_busy.kind, lock_busy.actor, lock_busy.detail) == ("lock_busy", "runbook-bot", {"holder": BOB})
    assert domain.locks.held(BACKEND_LOCK)  # the other change keeps its lock

    await domain.locks.release(other)
    final = await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)
    assert final.state == State.SUCCEEDED
    assert len(domain.target.runs) == 1


async def test_one_change_per_deployment_at_a_time(domain: Domain) -> None:
    first = await pending(domain)
    second = await pending(domain, replicas=7)
    domain.target.gate = asyncio.Event()
    running = asyncio.create_task(domain.engine.confirm(first.id, ALICE, OPS, no_progress))
    await asyncio.wait_for(domain.target.started.wait(), timeout=10)

    with pytest.raises(BusyError):
        await domain.engine.confirm(second.id, ALICE, OPS, no_progress)

    assert len(domain.target.runs) == 1
    assert await state_of(domain, second) == State.PENDING
    domain.target.gate.set()
    assert (await running).state == State.SUCCEEDED
    assert not domain.locks.held(BACKEND_LOCK)


async def test_changes_to_different_deployments_run_side_by_side(domain: Domain) -> None:
    first = await pending(domain)
    second = await pending(domain, service="frontend")
    domain.target.gate = asyncio.Event()
    running = asyncio.create_task(domain.engine.confirm(first.id, ALICE, OPS, no_progress))
    await asyncio.wait_for(domain.target.started.wait(), timeout=10)

    other = asyncio.create_task(domain.engine.confirm(second.id, ALICE, OPS, no_progress))
    domain.target.gate.set()

    assert [(await running).state, (await other).state] == [State.SUCCEEDED, State.SUCCEEDED]


async def test_locks_unavailable_at_confirm_fail_the_run_before_anything_changes(domain: Domain) -> None:
    execution = await pending(domain)
    domain.locks.available = False

    with pytest.raises(errors.UnavailableError) as unavailable:
        await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert unavailable.value.dependency == "Redis"
    assert "None" not in str(unavailable.value)
    outcome = domain.store.audit_log[-1]
    assert (outcome.actor, outcome.detail) == ("runbook-bot", {"state": "failed", "reason": "lock unavailable"})

    assert domain.target.runs == []
    assert await state_of(domain, execution) == State.FAILED
    stored = await domain.store.get(execution.id)
    assert stored is not None
    assert stored.error
    assert domain.store.kinds(execution.id)[-1] == "outcome"


async def test_locks_unavailable_at_request_refuse_the_change(domain: Domain) -> None:
    domain.locks.available = False

    with pytest.raises(errors.UnavailableError):
        await domain.engine.request(domain.command("scale", replicas=5), domain.who(ALICE))

    assert domain.store.executions == {}


async def test_a_lock_that_cannot_be_released_does_not_lose_the_outcome(domain: Domain) -> None:
    execution = await pending(domain)

    async def lose_redis(_: Execution, __: tuple[StepRecord, ...], label: str | None, ___: str | None) -> None:
        if label is not None:
            domain.locks.available = False

    final = await domain.engine.confirm(execution.id, ALICE, OPS, lose_redis)

    assert final.state == State.SUCCEEDED
    assert await state_of(domain, execution) == State.SUCCEEDED


async def test_a_failed_step_fails_the_run_and_frees_the_target(domain: Domain) -> None:
    domain.target.fail_with = errors.TargetError("forbidden")
    execution = await pending(domain)

    final = await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert final.state == State.FAILED
    assert final.error == "forbidden"
    assert [s.ok for s in final.steps] == [False]
    assert not domain.locks.held(BACKEND_LOCK)


async def test_the_outcome_is_reported_only_once_the_target_is_free(domain: Domain) -> None:
    execution = await pending(domain)
    calls: list[tuple[str | None, bool]] = []

    async def progress(_: Execution, __: tuple[StepRecord, ...], label: str | None, ___: str | None) -> None:
        calls.append((label, domain.locks.held(BACKEND_LOCK)))

    await domain.engine.confirm(execution.id, ALICE, OPS, progress)

    assert calls[0] == ("test.change", True)
    assert calls[-1] == (None, False)


async def test_a_lock_lost_to_its_ttl_lets_the_next_change_take_the_target(domain: Domain) -> None:
    domain.locks.take(BACKEND_LOCK, owner=BOB, ttl_seconds=60)
    domain.clock.advance(seconds=61)

    execution = await pending(domain)
    final = await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert final.state == State.SUCCEEDED


async def test_the_lock_is_held_at_least_as_long_as_the_steps_may_take(domain: Domain) -> None:
    execution = await pending(domain)
    domain.target.gate = asyncio.Event()
    running = asyncio.create_task(domain.engine.confirm(execution.id, ALICE, OPS, no_progress))
    await asyncio.wait_for(domain.target.started.wait(), timeout=10)

    holder = await domain.locks.holder(BACKEND_LOCK)
    assert holder is not None
    assert holder.owner == ALICE
    assert (holder.procedure, holder.service) == ("scale", "backend")  # data: the book words it
    domain.clock.advance(seconds=30 + 59)  # the step's timeout (30 s) plus most of the 60 s margin
    held_late = domain.locks.held(BACKEND_LOCK)
    domain.target.gate.set()
    await running

    assert held_late


# ---- a run that cannot finish normally ------------------------------------------------------------


async def wait_until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):  # a deadline of about 10 s
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_a_running_change_sends_heartbeats_until_it_ends(catalog: Catalog) -> None:
    domain = make_domain(catalog, heartbeat_seconds=0.01)
    execution = await pending(domain)
    domain.target.gate = asyncio.Event()
    domain.store.down_for.add("heartbeat")  # a missed beat or two must not stop the run
    running = asyncio.create_task(domain.engine.confirm(execution.id, ALICE, OPS, no_progress))

    await wait_until(lambda: len(domain.store.beats) >= 3)
    assert set(domain.store.beats) == {execution.id}
    domain.target.gate.set()
    final = await running

    assert final.state == State.SUCCEEDED  # (a heartbeat left running would fail the leftover-task check)


async def test_a_change_cut_off_by_shutdown_is_recorded_interrupted_and_not_reported_done(domain: Domain) -> None:
    execution = await pending(domain)
    domain.target.gate = asyncio.Event()
    running = asyncio.create_task(domain.engine.confirm(execution.id, ALICE, OPS, no_progress))
    await asyncio.wait_for(domain.target.started.wait(), timeout=10)

    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running

    stored = await domain.store.get(execution.id)
    assert stored is not None
    assert stored.state == State.INTERRUPTED
    assert stored.error
    assert domain.store.kinds(execution.id)[-1] == "outcome"
    assert not domain.locks.held(BACKEND_LOCK)


async def test_a_step_whose_audit_row_cannot_be_written_stops_the_run(domain: Domain) -> None:
    execution = await pending(domain)
    domain.store.down_for.add("record_step")

    final = await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert final.state == State.FAILED
    assert final.error
    assert "step" not in domain.store.kinds(execution.id)
    assert not domain.locks.held(BACKEND_LOCK)


async def test_an_outcome_that_cannot_be_recorded_is_still_returned(domain: Domain) -> None:
    execution = await pending(domain)
    domain.store.down_for.add("finish")
    domain.target.fail_with = errors.TargetError("quota exceeded")

    final = await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert (final.state, final.error) == (State.FAILED, "quota exceeded")
    assert (await state_of(domain, execution)) == State.RUNNING  # crash recovery closes it later
    assert not domain.locks.held(BACKEND_LOCK)


async def test_step_records_say_what_ran_and_how_long_it_took(domain: Domain) -> None:
    execution = await pending(domain)

    final = await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    [step] = final.steps
    assert (step.index, step.label, step.ok, step.summary, step.details) == (
        0,
        "test.change",
        True,
        "Set replicas to 5",  # the record keeps the summary as it was said
        "backend=5",
    )
    assert isinstance(step.seconds, float)
    assert 0 <= step.seconds < 3600
    entry = next(e for e in domain.store.audit_log if e.kind == "step")
    assert {k: v for k, v in entry.detail.items() if k != "seconds"} == {
        "index": 0,
        "label": "test.change",
        "ok": True,
        "summary": "Set replicas to 5",
    }
    assert entry.detail["seconds"] == step.seconds
    assert entry.actor == "runbook-bot"
    outcome = domain.store.audit_log[-1]
    assert (outcome.kind, outcome.actor, outcome.detail["state"]) == ("outcome", "runbook-bot", "succeeded")
    assert isinstance(outcome.detail["seconds"], float)
    assert 0 <= outcome.detail["seconds"] < 3600


async def test_progress_is_reported_before_each_step_as_it_goes_and_once_at_the_end(domain: Domain) -> None:
    execution = await pending(domain)
    seen: list[tuple[str | None, int, State, errors.Said | None]] = []

    async def progress(
        current: Execution, done: tuple[StepRecord, ...], label: str | None, line: errors.Said | None
    ) -> None:
        seen.append((label, len(done), current.state, line))
        assert all(isinstance(step, StepRecord) for step in done)

    await domain.engine.confirm(execution.id, ALICE, OPS, progress)

    # The action's line reaches the surface as it said it: a phrase of the book with data fields.
    line = errors.Said("k8s_rollout_updating", deployment="backend", updated=0, desired=5)
    assert seen == [
        ("test.change", 0, State.RUNNING, None),
        ("test.change", 0, State.RUNNING, line),
        (None, 1, State.SUCCEEDED, None),
    ]
    assert line.fields == {"deployment": "backend", "updated": 0, "desired": 5}  # data, never words


def test_a_busy_targets_holder_says_who_and_for_how_long() -> None:
    holder = Holder(owner=BOB, since=time.time() - 150, procedure="scale", service="backend")

    assert errors.plain(holder.describe()) == f"`scale` on backend by @{BOB}, started 2 min ago"
    assert "120 min" in errors.plain(Holder(BOB, time.time() - 7230, "scale", "backend").describe())
    assert holder.describe().fields["owner"] == errors.User(BOB)
    assert "0 min" in errors.plain(Holder(BOB, time.time() + 60, "scale", "backend").describe())  # never < 0


async def test_a_procedure_without_a_lock_ignores_a_busy_target(domain: Domain) -> None:
    domain.locks.take(BACKEND_LOCK, owner=BOB)
    execution = await pending(domain, "unlocked")

    final = await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert execution.lock_key is None
    assert (execution.expires_at - execution.created_at).total_seconds() == 60
    assert final.state == State.SUCCEEDED
    assert domain.locks.acquired == []


async def test_the_request_remembers_where_to_answer(domain: Domain) -> None:
    who = Invocation(user_id=ALICE, channel_id=OPS, team_id="T1", response_url="https://hooks.example/r")
    outcome = await domain.engine.request(domain.command("scale", replicas=5), who)

    assert isinstance(outcome, PendingOutcome)
    stored = await domain.store.get(outcome.execution.id)
    assert stored is not None
    assert (stored.team_id, stored.response_url, stored.channel_id, stored.args) == (
        "T1",
        "https://hooks.example/r",
        OPS,
        {"service": "backend", "replicas": 5},
    )
    request = domain.store.audit_log[0]
    assert request.detail["policy"] == "allowed"
    assert (request.kind, request.actor, request.detail["args"]) == (
        "request",
        ALICE,
        {"service": "backend", "replicas": 5},
    )


async def test_a_refused_read_is_not_audited_but_a_refused_change_is_with_its_arguments(domain: Domain) -> None:
    with pytest.raises(errors.DeniedError):
        await domain.engine.request(domain.command("status"), domain.who(DAVE))
    assert domain.store.audit_log == []

    with pytest.raises(errors.DeniedError):
        await domain.engine.request(domain.command("scale", replicas=9), domain.who(DAVE))
    [entry] = domain.store.audit_log
    assert (entry.kind, entry.actor, entry.channel_id, entry.procedure) == ("denied", DAVE, OPS, "scale")
    assert entry.detail == {"reason": "role", "args": {"service": "backend", "replicas": 9}}


async def test_a_refused_click_is_audited_with_who_and_why(domain: Domain) -> None:
    execution = await pending(domain)

    with pytest.raises(errors.DeniedError):
        await domain.engine.confirm(execution.id, CAROL, OPS, no_progress)

    entry = domain.store.audit_log[-1]
    assert (entry.kind, entry.actor, entry.execution_id) == ("denied", CAROL, execution.id)
    assert entry.detail == {"reason": "role", "at": "confirm"}


async def test_a_request_for_a_procedure_no_longer_configured_is_not_found(domain: Domain) -> None:
    execution = await pending(domain)
    await domain.store.create(replace(execution, id=uuid.uuid4(), procedure="retired"), [])
    retired = next(e for e in domain.store.executions.values() if e.procedure == "retired")

    with pytest.raises(errors.NotFoundError) as missing:
        await domain.engine.confirm(retired.id, ALICE, OPS, no_progress)
    assert "`retired`" in missing.value.message
    with pytest.raises(errors.NotFoundError):
        await domain.engine.cancel(retired.id, ALICE, OPS)


async def test_the_steps_run_in_order_and_a_failed_step_stops_the_rest(domain: Domain) -> None:
    first = await pending(domain, "two-steps")
    final = await domain.engine.confirm(first.id, ALICE, OPS, no_progress)
    assert [(s.index, s.label, s.ok) for s in final.steps] == [(0, "test.change", True), (1, "check", True)]
    assert domain.target.reads == 1

    domain.target.fail_with = errors.TargetError("conflict")
    second = await pending(domain, "two-steps", service="frontend")
    failed = await domain.engine.confirm(second.id, ALICE, OPS, no_progress)

    assert [(s.label, s.ok, s.summary) for s in failed.steps] == [("test.change", False, "conflict")]
    assert domain.target.reads == 1  # the check after the failed step never ran
    assert domain.store.kinds(second.id).count("step") == 1
    outcome = domain.store.audit_log[-1]
    assert (outcome.detail["state"], outcome.detail["error"]) == ("failed", "conflict")


@pytest.mark.parametrize(("mode", "replicas"), [("on", 1), ("off", 0)])
async def test_only_the_steps_for_the_given_arguments_run(domain: Domain, mode: str, replicas: int) -> None:
    outcome = await domain.engine.request(domain.command("switch", mode=mode), domain.who(ALICE))
    assert isinstance(outcome, PendingOutcome)

    final = await domain.engine.confirm(outcome.execution.id, ALICE, OPS, no_progress)

    assert [s.label for s in final.steps] == [mode]
    assert domain.target.runs == [{"service": "backend", "replicas": replicas}]


async def test_an_expired_or_finished_request_says_so_even_to_someone_who_may_not_confirm(domain: Domain) -> None:
    """The request's state is checked before the clicker's roles: nothing is audited as a denial."""
    expired, finished = await pending(domain), await pending(domain, service="frontend")
    await domain.engine.confirm(finished.id, ALICE, OPS, no_progress)
    domain.clock.now = expired.expires_at  # exactly at expiry: too late

    for execution in (expired, finished):
        with pytest.raises(errors.UserError) as refused:
            await domain.engine.confirm(execution.id, CAROL, OPS, no_progress)
        assert not isinstance(refused.value, errors.DeniedError)
    assert "denied" not in domain.store.kinds()


# ---- a lock follows its execution -------------------------------------------------------------------


async def test_a_lock_left_by_an_ended_execution_is_freed_by_the_next_request(domain: Domain) -> None:
    ended = await pending(domain)
    await domain.engine.confirm(ended.id, ALICE, OPS, no_progress)
    domain.locks.take(BACKEND_LOCK, owner=ALICE, execution=str(ended.id))  # as if its release had been lost

    execution = await pending(domain, replicas=6)

    assert execution.lock_key == BACKEND_LOCK
    assert not domain.locks.held(BACKEND_LOCK)


async def test_a_lock_of_an_execution_not_ended_is_kept_and_the_request_refused(domain: Domain) -> None:
    running = await pending(domain)
    domain.locks.take(BACKEND_LOCK, owner=BOB, execution=str(running.id))  # pending: not ended

    with pytest.raises(BusyError):
        await pending(domain, replicas=6)

    assert domain.locks.held(BACKEND_LOCK)
    assert not await domain.locks.release_of(BACKEND_LOCK, str(uuid.uuid4()))  # only its own execution frees it
    assert domain.locks.held(BACKEND_LOCK)
    assert await domain.locks.release_of(BACKEND_LOCK, str(running.id))
    assert not domain.locks.held(BACKEND_LOCK)
