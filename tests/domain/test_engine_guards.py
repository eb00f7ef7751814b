"""The engine's later guards on in-memory ports: the preview must still hold at Confirm (drift),
break-glass, the command text written to history and audit, and a lock that follows its execution
when the sweep or crash recovery finds it ended."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from pydantic import BaseModel

from bot import errors
from bot.catalog import Catalog
from bot.runbooks.engine import PendingOutcome, ReadOnlyOutcome
from bot.runbooks.executions import AuditEntry, Execution, State
from bot.runbooks.locking import BusyError, lock_name
from bot.runbooks.parser import bind_arguments
from bot.runbooks.policy import RateLimit
from tests.domain import said
from tests.domain.conftest import ALICE, BOB, OPS, PROCEDURES, Domain, make_domain, no_progress, procedure

BACKEND_LOCK = "kubernetes:default/mail-score-production/deployment/mail-score-backend"
FRONTEND_LOCK = "kubernetes:default/mail-score-production/deployment/mail-score-frontend"


async def pending(domain: Domain, name: str = "scale", user: str = ALICE, **args: object) -> Execution:
    outcome = await domain.engine.request(domain.command(name, **{"replicas": 5, **args}), domain.who(user))
    assert isinstance(outcome, PendingOutcome)
    return outcome.execution


def audit_of(domain: Domain, execution: Execution, kind: str) -> dict[str, object]:
    rows = [e for e in domain.store.audit_log if e.execution_id == execution.id and e.kind == kind]
    assert len(rows) == 1, (kind, rows)
    return dict(rows[0].detail)


# ---- the preview is what runs: checked again at Confirm ------------------------------------------------


async def test_a_target_changed_since_the_preview_fails_the_run_and_changes_nothing(domain: Domain) -> None:
    execution = await pending(domain)
    domain.target.before = "4"  # someone scaled it by hand after the preview

    final = await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert final.state == State.FAILED
    assert domain.target.runs == []
    assert final.steps == ()
    assert final.error is not None and "replicas" in final.error
    assert audit_of(domain, execution, "outcome")["state"] == "failed"
    assert not domain.locks.held(BACKEND_LOCK)


async def test_an_unchanged_target_runs_with_the_preview_checked_again(domain: Domain) -> None:
    execution = await pending(domain)
    dry_runs_at_request = len(domain.target.dry_runs)

    final = await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert final.state == State.SUCCEEDED
    assert final.error is None
    assert len(domain.target.dry_runs) == dry_runs_at_request + 1  # the dry run again, at the click
    assert domain.target.dry_runs[-1] == {"service": "backend", "replicas": 5}  # of the same change
    assert domain.target.runs == [{"service": "backend", "replicas": 5}]


async def test_a_preview_that_cannot_be_checked_again_fails_the_run(domain: Domain) -> None:
    execution = await pending(domain)
    domain.target.fail_dry_run_with = errors.TargetError("the cluster refused the dry run")

    final = await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert final.state == State.FAILED
    assert domain.target.runs == []
    assert final.error is not None and "the cluster refused the dry run" in final.error  # the target's own words


async def test_a_request_made_before_previews_recorded_what_they_saw_still_runs(domain: Domain) -> None:
    execution = await pending(domain)
    stored = domain.store.executions[execution.id]
    legacy = {k: v for k, v in (stored.preview or {}).items() if k != "seen"}
    domain.store.executions[execution.id] = replace(stored, preview=legacy)
    domain.target.before = "4"  # nothing to compare with: it runs

    final = await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert final.state == State.SUCCEEDED
    assert len(domain.target.runs) == 1


# ---- break-glass -------------------------------------------------------------------------------------


async def test_a_breakglass_member_confirms_their_own_emergency_and_the_audit_says_why(domain: Domain) -> None:
    execution = await pending(domain, "rollback", emergency="payments down")

    final = await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert final.state == State.SUCCEEDED
    assert final.approver == ALICE
    assert audit_of(domain, execution, "confirmed") == {
        "as": "breakglass",
        "emergency": True,
        "reason": "payments down",
    }


async def test_an_emergency_request_approved_by_a_second_person_is_an_ordinary_approval(domain: Domain) -> None:
    execution = await pending(domain, "rollback", emergency="payments down")

    await domain.engine.confirm(execution.id, BOB, OPS, no_progress)

    assert audit_of(domain, execution, "confirmed") == {"as": "approver"}


async def test_an_emergency_request_by_someone_outside_breakglass_creates_nothing(domain: Domain) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await pending(domain, "rollback", user=BOB, emergency="payments down")

    assert denied.value.reason == "role"
    assert domain.store.executions == {}
    assert domain.target.dry_runs == []


async def test_an_emergency_on_a_procedure_without_a_second_person_creates_nothing(domain: Domain) -> None:
    with pytest.raises(errors.UserError):
        await pending(domain, "scale", emergency="payments down")

    assert domain.store.executions == {}


async def test_without_an_emergency_the_requester_still_needs_a_second_person(domain: Domain) -> None:
    execution = await pending(domain, "rollback")

    with pytest.raises(errors.DeniedError) as denied:
        await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert denied.value.reason == "same_approver"
    assert domain.target.runs == []


# ---- the command text written to the execution, the audit and the answer ---------------------------

SET_ENV = procedure(
    "set-env",
    params=[
        {"name": "service", "type": "service"},
        {"name": "variable", "type": "string"},
        {"name": "value", "type": "string", "value_of": "variable"},
    ],
    steps=[{"action": "test.change", "args": {"replicas": 1}}],
)


async def test_the_command_text_is_canonical_and_masks_a_secret_value(domain: Domain) -> None:
    parsed = bind_arguments(SET_ENV, ["backend", "API_TOKEN", "hunter2"], domain.engine.catalog)

    outcome = await domain.engine.request(parsed, domain.who(ALICE))

    assert isinstance(outcome, PendingOutcome)
    command = outcome.execution.command
    assert command is not None and command.startswith("set-env backend API_TOKEN secret:")
    assert "hunter2" not in command
    assert audit_of(domain, outcome.execution, "request")["command"] == command
    assert outcome.execution.preview is not None
    assert outcome.execution.preview["args"]["value"] == command.split()[-1]
    assert outcome.execution.args["value"] == "hunter2"  # what runs is the real value


async def test_a_value_safe_to_show_is_written_as_typed(domain: Domain) -> None:
    parsed = bind_arguments(SET_ENV, ["backend", "LOG_LEVEL", "debug"], domain.engine.catalog)

    outcome = await domain.engine.request(parsed, domain.who(ALICE))

    assert isinstance(outcome, PendingOutcome)
    assert outcome.execution.command == "set-env backend LOG_LEVEL debug"
    assert audit_of(domain, outcome.execution, "request")["command"] == "set-env backend LOG_LEVEL debug"


async def test_the_command_keeps_each_value_as_the_user_typed_it(domain: Domain) -> None:
    parsed = bind_arguments(PROCEDURES["scale"], ["backend", "05"], domain.engine.catalog)
    read = bind_arguments(PROCEDURES["status"], ["frontend"], domain.engine.catalog)

    outcome = await domain.engine.request(parsed, domain.who(ALICE))
    answer = await domain.engine.request(read, domain.who(ALICE))

    assert isinstance(outcome, PendingOutcome)
    assert outcome.execution.args["replicas"] == 5
    assert outcome.execution.command == "scale backend 05"
    assert isinstance(answer, ReadOnlyOutcome)
    assert answer.command == "status frontend"


# ---- a lock follows its execution: freed by owner when the sweep or recovery finds it ended ---------


async def crashed(domain: Domain, service: str = "backend", lock: str = BACKEND_LOCK) -> Execution:
    """A change claimed and locked by a replica that then died (no more heartbeats)."""
    execution = await pending(domain, service=service)
    claimed = await domain.store.claim(execution.id, approver=ALICE, owner="replica-2", audit=audit_row(execution))
    assert claimed is not None
    domain.locks.take(lock, owner=ALICE, execution=str(execution.id))
    return claimed


def audit_row(execution: Execution) -> AuditEntry:
    return AuditEntry(kind="confirmed", actor=ALICE, execution_id=execution.id)


async def test_recovery_marks_a_run_without_heartbeats_interrupted_and_frees_its_target(domain: Domain) -> None:
    execution = await crashed(domain)
    domain.clock.advance(seconds=31)

    found = await domain.engine.recover_interrupted(stale_after_seconds=30)

    assert [e.id for e in found] == [execution.id]
    assert found[0].state == State.INTERRUPTED
    assert not domain.locks.held(BACKEND_LOCK)
    assert domain.target.runs == []  # never re-run
    await pending(domain, replicas=6)  # the target takes a new change at once


async def test_recovery_leaves_a_run_that_still_beats_and_its_lock(domain: Domain) -> None:
    await crashed(domain)
    domain.clock.advance(seconds=29)

    assert await domain.engine.recover_interrupted(stale_after_seconds=30) == []
    assert domain.locks.held(BACKEND_LOCK)


async def test_recovery_frees_only_locks_the_interrupted_run_still_holds(domain: Domain) -> None:
    execution = await crashed(domain)
    domain.locks.take(BACKEND_LOCK, owner=BOB, execution=str(uuid.uuid4()))  # taken over since (TTL)
    domain.clock.advance(seconds=31)

    found = await domain.engine.recover_interrupted(stale_after_seconds=30)

    assert [e.id for e in found] == [execution.id]
    assert domain.locks.held(BACKEND_LOCK)


async def test_every_interrupted_run_frees_its_own_target(domain: Domain) -> None:
    first = await crashed(domain)
    unlocked = await domain.engine.request(domain.command("unlocked", replicas=1), domain.who(ALICE))
    assert isinstance(unlocked, PendingOutcome)
    await domain.store.claim(unlocked.execution.id, approver=ALICE, owner="replica-2", audit=audit_row(first))
    second = await crashed(domain, "frontend", FRONTEND_LOCK)
    domain.clock.advance(seconds=31)

    found = await domain.engine.recover_interrupted(stale_after_seconds=30)

    assert {e.id for e in found} == {first.id, unlocked.execution.id, second.id}
    assert not domain.locks.held(BACKEND_LOCK)
    assert not domain.locks.held(FRONTEND_LOCK)


async def test_a_lock_that_cannot_be_freed_now_does_not_stop_recovery(domain: Domain) -> None:
    execution = await crashed(domain)
    domain.clock.advance(seconds=31)
    domain.locks.available = False

    found = await domain.engine.recover_interrupted(stale_after_seconds=30)

    assert [e.state for e in found] == [State.INTERRUPTED]
    domain.locks.available = True
    assert domain.locks.held(BACKEND_LOCK)
    await pending(domain, replicas=6)  # the next request finds the run ended and frees it
    assert not domain.locks.held(BACKEND_LOCK)
    assert (await domain.store.get(execution.id)) is not None


async def test_the_sweep_closes_expired_requests_and_interrupted_runs(domain: Domain) -> None:
    interrupted = await crashed(domain)
    expiring = await pending(domain, "unlocked", service="frontend")
    domain.clock.advance(minutes=2)

    swept = await domain.engine.sweep(stale_after_seconds=30)

    assert [(e.id, e.state) for e in swept] == [
        (expiring.id, State.EXPIRED),
        (interrupted.id, State.INTERRUPTED),
    ]
    assert not domain.locks.held(BACKEND_LOCK)


async def test_a_lock_whose_holder_is_unknown_is_never_freed_by_a_request(domain: Domain) -> None:
    domain.locks.take(BACKEND_LOCK, owner=BOB)  # taken before locks recorded their execution
    with pytest.raises(BusyError):
        await pending(domain)
    domain.locks.take(BACKEND_LOCK, owner=BOB, execution="not-an-execution-id")
    with pytest.raises(BusyError):
        await pending(domain)
    domain.locks.take(BACKEND_LOCK, owner=BOB, execution=str(uuid.uuid4()))  # no such execution
    with pytest.raises(BusyError):
        await pending(domain)

    assert domain.locks.held(BACKEND_LOCK)


# ---- what a run acts on, and how it reports ------------------------------------------------------------


async def test_each_step_acts_on_what_its_own_dry_run_saw(domain: Domain) -> None:
    domain.target.dry_run_data = {"pods": ["backend-1", "backend-2"]}
    execution = await pending(domain, "two-steps")
    domain.target.dry_run_data = {"pods": ["backend-3"]}  # seen again at Confirm; the preview's list is what runs

    await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert domain.target.expected == [{"pods": ["backend-1", "backend-2"]}]


async def test_step_and_run_durations_are_recorded_to_the_millisecond(domain: Domain) -> None:
    execution = await pending(domain, "two-steps")

    final = await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    seconds = [s.seconds for s in final.steps] + [audit_of(domain, execution, "outcome")["seconds"]]
    assert all(isinstance(s, float) and s == round(s, 3) for s in seconds), seconds


async def test_the_message_of_a_request_is_remembered(domain: Domain) -> None:
    execution = await pending(domain)

    await domain.engine.attach_message(execution.id, "C0INCIDENTS", "1700000000.000300")

    stored = await domain.store.get(execution.id)
    assert stored is not None
    assert (stored.channel_id, stored.message_ts) == ("C0INCIDENTS", "1700000000.000300")


# ---- refusals of a click on a request that is no longer pending -------------------------------------


async def test_a_click_on_a_finished_request_names_who_approved_it_even_after_its_expiry(domain: Domain) -> None:
    execution = await pending(domain)
    await domain.engine.confirm(execution.id, BOB, OPS, no_progress)
    domain.clock.now = execution.expires_at + timedelta(minutes=1)

    for click in (
        domain.engine.confirm(execution.id, ALICE, OPS, no_progress),
        domain.engine.cancel(execution.id, ALICE, OPS),
    ):
        with pytest.raises(errors.UserError) as refused:
            await click
        assert said.users(refused.value) == {BOB}
        assert State.SUCCEEDED.value in refused.value.message  # the state it is in


async def test_a_click_on_an_expired_or_cancelled_request_names_nobody(domain: Domain) -> None:
    expired, cancelled = await pending(domain), await pending(domain, service="frontend")
    await domain.engine.cancel(cancelled.id, ALICE, OPS)
    domain.clock.now = expired.expires_at

    for execution in (expired, cancelled):
        with pytest.raises(errors.UserError) as refused:
            await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)
        assert said.users(refused.value) == set()
    assert domain.target.runs == []


async def test_a_cancel_that_loses_to_a_confirm_names_who_confirmed(domain: Domain) -> None:
    execution = await pending(domain)

    confirmed, cancelled = await asyncio.gather(
        domain.engine.confirm(execution.id, BOB, OPS, no_progress),
        domain.engine.cancel(execution.id, ALICE, OPS),
        return_exceptions=True,
    )

    assert isinstance(confirmed, Execution) and confirmed.state == State.SUCCEEDED
    assert isinstance(cancelled, errors.UserError)
    assert said.users(cancelled) == {BOB}


async def test_cancel_from_another_channel_is_refused_and_the_request_stays(domain: Domain) -> None:
    execution = await pending(domain)

    with pytest.raises(errors.DeniedError) as denied:
        await domain.engine.cancel(execution.id, ALICE, "C0INCIDENTS")

    assert denied.value.reason == "channel"
    assert said.users(denied.value) == set()
    stored = await domain.store.get(execution.id)
    assert stored is not None and stored.state == State.PENDING


# ---- history -------------------------------------------------------------------------------------------


async def test_the_history_of_a_deployment_lists_its_runs_and_its_rollouts(domain: Domain) -> None:
    older = await pending(domain)
    domain.clock.advance(seconds=1)
    newer = await pending(domain, replicas=6)
    domain.clock.advance(seconds=1)
    await pending(domain, service="frontend")

    history = await domain.engine.history("backend", limit=5)
    latest = await domain.engine.history("backend", limit=1)

    assert [e.id for e in history.executions] == [newer.id, older.id]
    assert [e.id for e in latest.executions] == [newer.id]
    assert history.rollout is not None and history.rollout.details == "revisions of backend"
    backend = domain.engine.catalog.services["backend"]
    assert [(name, service) for name, service, _ in domain.target.histories] == [("backend", backend)] * 2
    assert all(isinstance(params, BaseModel) for _, _, params in domain.target.histories)


async def test_history_of_everything_or_of_a_compose_service_has_no_rollouts(domain: Domain) -> None:
    made = [await pending(domain), await pending(domain, service="frontend")]

    everything = await domain.engine.history(None, limit=10)
    compose = await domain.engine.history("newsletter-app", limit=10)

    assert {e.id for e in everything.executions} == {e.id for e in made}
    assert everything.rollout is None
    assert (compose.executions, compose.rollout) == ([], None)
    assert domain.target.histories == []


# ---- the lock a run holds, and the run cut off by shutdown ------------------------------------------


async def start_gated(domain: Domain, execution: Execution, progress: ProgressLog) -> asyncio.Task[Execution]:
    domain.target.gate = asyncio.Event()
    running = asyncio.create_task(domain.engine.confirm(execution.id, ALICE, OPS, progress))
    await asyncio.wait_for(domain.target.started.wait(), timeout=10)
    return running


class ProgressLog:
    """Every progress call: (state, steps done, step running, line)."""

    def __init__(self) -> None:
        self.calls: list[tuple[State, int, str | None, errors.Said | None]] = []

    async def __call__(
        self, execution: Execution, done: tuple[object, ...], step: str | None, line: errors.Said | None
    ) -> None:
        self.calls.append((execution.state, len(done), step, line))


async def test_a_runs_lock_names_its_execution_and_lasts_the_steps_timeouts_plus_a_minute(domain: Domain) -> None:
    execution = await pending(domain)
    running = await start_gated(domain, execution, ProgressLog())

    holder = await domain.locks.holder(BACKEND_LOCK)
    assert holder is not None and holder.execution == str(execution.id)  # so recovery can free it by owner
    domain.clock.advance(seconds=30 + 59)
    assert domain.locks.held(BACKEND_LOCK)
    domain.clock.advance(seconds=1)  # the step's 30 s timeout plus the 60 s margin: the TTL ends
    assert not domain.locks.held(BACKEND_LOCK)
    assert domain.target.gate is not None
    domain.target.gate.set()
    await running


async def test_a_run_cut_off_by_shutdown_says_so_before_the_process_exits(domain: Domain) -> None:
    execution = await pending(domain)
    progress = ProgressLog()
    running = await start_gated(domain, execution, progress)

    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running

    assert progress.calls[-1] == (State.INTERRUPTED, 0, None, None)  # the message shows the run stopped


async def test_a_run_cut_off_while_postgresql_is_gone_still_shuts_down(domain: Domain) -> None:
    execution = await pending(domain)
    progress = ProgressLog()
    running = await start_gated(domain, execution, progress)
    domain.store.available = False

    running.cancel()
    with pytest.raises(asyncio.CancelledError):  # not the store's error: shutdown goes on
        await running

    assert progress.calls[-1][0] == State.RUNNING  # nothing more could be said; recovery redraws it later
    assert not domain.locks.held(BACKEND_LOCK)


async def test_each_change_counts_against_its_requesters_limit_whoever_confirms_it(catalog: Catalog) -> None:
    domain = make_domain(catalog, rate_limit=RateLimit(destructive_per_window=2, window_seconds=60))
    alices = [await pending(domain, service=s) for s in ("backend", "frontend", "email-dashboard")]
    bobs = await pending(domain, "scale", user=BOB, service="email-triage")
    for execution in alices[:2]:
        await domain.engine.confirm(execution.id, BOB, OPS, no_progress)  # approved by BOB, counted for ALICE

    with pytest.raises(errors.DeniedError) as denied:
        await domain.engine.confirm(alices[2].id, BOB, OPS, no_progress)
    final = await domain.engine.confirm(bobs.id, BOB, OPS, no_progress)

    assert denied.value.reason == "rate_limit"
    assert said.users(denied.value) == {ALICE}
    assert final.state == State.SUCCEEDED


# ---- which target a change locks, and what the request says of the target's last run -----------------


def test_a_procedure_pinned_to_a_component_locks_that_components_target(domain: Domain) -> None:
    catalog = domain.engine.catalog

    def pinned(component: str | None) -> str | None:
        target = {"service": "email-dashboard", "component": component} if component else {"service": "email-dashboard"}
        fixed = procedure("pinned", params=[{"name": "replicas", "type": "int", "required": False}], target=target)
        return lock_name(catalog, "email-dashboard", fixed, domain.registry)

    assert pinned("ingestion") == "kubernetes:default/production/deployment/email-ingestion"
    assert pinned("auth") == "kubernetes:default/production/pods/component=auth"
    assert pinned(None) == "kubernetes:default/production/deployment/email-dashboard"
    assert lock_name(catalog, "newsletter-app", PROCEDURES["scale"], domain.registry) is None  # no such target


async def test_a_request_on_a_target_whose_last_run_was_cut_off_says_which_run(domain: Domain) -> None:
    interrupted = await crashed(domain)
    domain.clock.advance(seconds=31)
    await domain.engine.recover_interrupted(stale_after_seconds=30)
    finished = await pending(domain, service="frontend")
    await domain.engine.confirm(finished.id, ALICE, OPS, no_progress)

    after_crash = await domain.engine.request(domain.command("scale", replicas=6), domain.who(ALICE))
    after_success = await domain.engine.request(domain.command("scale", "frontend", replicas=6), domain.who(ALICE))
    unlocked = await domain.engine.request(domain.command("unlocked", replicas=6), domain.who(ALICE))

    assert isinstance(after_crash, PendingOutcome) and after_crash.last_interrupted is not None
    assert after_crash.last_interrupted.id == interrupted.id
    assert isinstance(after_success, PendingOutcome) and after_success.last_interrupted is None
    assert isinstance(unlocked, PendingOutcome) and unlocked.last_interrupted is None


async def test_the_click_that_loses_a_race_is_told_who_won(domain: Domain) -> None:
    execution = await pending(domain)

    results = await asyncio.gather(
        domain.engine.confirm(execution.id, BOB, OPS, no_progress),
        domain.engine.confirm(execution.id, ALICE, OPS, no_progress),
        return_exceptions=True,
    )

    [won] = [r for r in results if isinstance(r, Execution)]
    [lost] = [r for r in results if isinstance(r, errors.UserError)]
    assert said.users(lost) == {won.approver}
    assert len(domain.target.runs) == 1


async def test_a_switch_is_written_by_name_when_on_and_left_out_when_off(domain: Domain) -> None:
    forced = procedure(
        "restart",
        params=[{"name": "service", "type": "service"}, {"name": "force", "type": "switch"}],
        steps=[{"action": "test.change", "args": {"replicas": 1}}],
    )
    on = bind_arguments(forced, ["backend", "--force"], domain.engine.catalog)

    outcome = await domain.engine.request(on, domain.who(ALICE))

    assert isinstance(outcome, PendingOutcome)
    assert outcome.execution.command == "restart backend --force"
