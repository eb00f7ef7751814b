"""The runbook engine: request → policy → preview or run; confirm → exactly once → steps → outcome.

Knows procedures, policy and the storage/lock ports; renders nothing. The Slack
layer turns what it returns (and its progress callbacks) into messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import structlog

from bot import errors
from bot.actions.registry import ActionContext, ActionRegistry, ActionResult, Change
from bot.catalog import Catalog
from bot.runbooks import drift
from bot.runbooks.executions import AuditEntry, Execution, ExecutionStore, State, StepRecord
from bot.runbooks.locking import BusyError, Holder, Locks, lock_name
from bot.runbooks.model import Procedure, StringParam
from bot.runbooks.parser import ParsedCommand, canonical_text
from bot.runbooks.policy import BREAKGLASS_ROLE, EMERGENCY_ARG, Policy
from bot.runbooks.steps import StepRunner
from bot.values import ValueMask

log = structlog.get_logger(__name__)
BOT_ACTOR = "runbook-bot"
ROLLOUT_HISTORY = "kubernetes.history"  # shown beside a service's executions
# How long an interrupted run may take to say so in Slack while the process shuts down.
SHUTDOWN_NOTICE_SECONDS = 10.0
Clock = Callable[[], datetime]
# (execution, steps done so far, label of the step now running or None, latest progress line: a phrase
# of the book the surface words, or None)
ProgressCallback = Callable[[Execution, tuple[StepRecord, ...], str | None, errors.Said | None], Awaitable[None]]


@dataclass(frozen=True)
class Invocation:
    """Who asked, where, and how to answer them."""

    user_id: str
    channel_id: str
    team_id: str | None = None
    response_url: str | None = None


@dataclass(frozen=True)
class ReadOnlyOutcome:
    procedure: Procedure
    args: Mapping[str, Any]
    results: tuple[ActionResult, ...]
    command: str = ""  # canonical command text


@dataclass(frozen=True)
class PendingOutcome:
    procedure: Procedure
    execution: Execution
    changes: tuple[Change, ...]
    notes: tuple[errors.Said, ...]
    last_interrupted: Execution | None = None  # the target's last run was cut off: look before confirming


@dataclass(frozen=True)
class History:
    executions: list[Execution]  # newest first
    rollout: ActionResult | None  # the deployment's rollout history, when one service was asked for


def _entry(kind: str, actor: str, execution: Execution, **detail: Any) -> AuditEntry:
    return AuditEntry(
        kind=kind,
        actor=actor,
        channel_id=execution.channel_id,
        execution_id=execution.id,
        procedure=execution.procedure,
        detail=detail,
    )


def _emergency(execution: Execution, role: str) -> dict[str, Any]:
    """What the audit row says of a break-glass confirmation: that it was one, and why."""
    if role != BREAKGLASS_ROLE:
        return {}
    return {"emergency": True, "reason": str(execution.args.get(EMERGENCY_ARG, ""))}


class Engine:
    def __init__(
        self,
        *,
        catalog: Catalog,
        procedures: Mapping[str, Procedure],
        registry: ActionRegistry,
        policy: Policy,
        store: ExecutionStore,
        locks: Locks,
        clock: Clock,
        replica_id: str,
        heartbeat_seconds: float = 5.0,
        mask: ValueMask,
    ) -> None:
        self.catalog = catalog
        self.procedures = procedures
        self._registry = registry
        self._steps = StepRunner(catalog, registry)
        self._registry = registry
        self._policy = policy
        self._store = store
        self._locks = locks
        self._clock = clock
        self._replica_id = replica_id
        self._heartbeat_seconds = heartbeat_seconds
        self._mask = mask

    # ---- request -------------------------------------------------------------------------------

    async def request(self, parsed: ParsedCommand, who: Invocation) -> ReadOnlyOutcome | PendingOutcome:
        """Check policy, then run a read-only procedure now, or prepare a destructive one for confirmation."""
        procedure, args = parsed.procedure, parsed.args
        try:
            await self._policy.check_request(procedure, who.user_id, who.channel_id)
        except errors.DeniedError as exc:
            if procedure.destructive:
                await self._store.audit(
                    AuditEntry(
                        kind="denied",
                        actor=who.user_id,
                        channel_id=who.channel_id,
                        procedure=procedure.name,
                        detail={"reason": exc.reason, "args": self.shown_args(procedure, args)},
                    )
                )
            raise
        if not procedure.destructive:
            results = await self._steps.read_only(procedure, args, parsed.service)
            return ReadOnlyOutcome(procedure=procedure, args=args, results=results, command=self.shown_command(parsed))
        if args.get(EMERGENCY_ARG):
            await self._policy.check_emergency(procedure, who.user_id)
        return await self._prepare(parsed, who)

    async def _prepare(self, parsed: ParsedCommand, who: Invocation) -> PendingOutcome:
        procedure, args = parsed.procedure, parsed.args
        target = lock_name(self.catalog, parsed.service, procedure, self._registry) if procedure.lock else None
        last_interrupted = None
        if target is not None:
            holder = await self._locks.holder(target)
            if holder is not None and not await self._free_if_ended(target, holder):
                raise BusyError(parsed.service, holder, errors.Said("try_when_finished"))
            last = await self._store.last_started(target)
            if last is not None and last.state == State.INTERRUPTED:
                last_interrupted = last
        changes, notes, seen = await self._steps.preview(procedure, args, parsed.service)
        now = self._clock()
        execution = Execution(
            id=uuid.uuid4(),
            procedure=procedure.name,
            args=dict(args),
            service=parsed.service,
            lock_key=target,
            requester=who.user_id,
            team_id=who.team_id,
            channel_id=who.channel_id,
            response_url=who.response_url,
            approval=procedure.approval,
            state=State.PENDING,
            created_at=now,
            expires_at=now + timedelta(minutes=procedure.confirm_timeout_minutes),
            preview={
                # As said at the time, in plain text: the record is history, not re-worded by a later book.
                "changes": [c.recorded() for c in changes],
                "notes": [errors.plain(n) for n in notes],
                "args": self.shown_args(procedure, args),  # what messages and history show of the args
                "seen": seen,  # what the dry run saw: a confirmation runs only while it still holds
            },
            command=self.shown_command(parsed),
        )
        await self._store.create(
            execution,
            [
                _entry(
                    "request",
                    who.user_id,
                    execution,
                    args=self.shown_args(procedure, args),
                    command=self.shown_command(parsed),
                    policy="allowed",
                ),
                _entry("preview", BOT_ACTOR, execution, changes=[c.recorded() for c in changes]),
            ],
        )
        return PendingOutcome(
            procedure=procedure, execution=execution, changes=changes, notes=notes, last_interrupted=last_interrupted
        )

    def shown_command(self, parsed: ParsedCommand) -> str:
        """The canonical command text as it may be written anywhere: secret values masked as in `shown_args`."""
        shown = self.shown_args(parsed.procedure, parsed.args)
        given = {
            name: str(shown[name]) if shown.get(name) != parsed.args.get(name) else raw
            for name, raw in parsed.given.items()
        }
        return canonical_text(parsed.procedure, given, parsed.args)

    def shown_args(self, procedure: Procedure, args: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments as they may be written anywhere: values of secret variables masked."""
        shown = dict(args)
        for param in procedure.params:
            if isinstance(param, StringParam) and param.value_of is not None and shown.get(param.name) is not None:
                shown[param.name] = self._mask.show(str(args.get(param.value_of)), str(shown[param.name]))
        return shown

    async def _free_if_ended(self, target: str, holder: Holder) -> bool:
        """A lock whose execution already ended (its release was lost, e.g. Redis was down) is freed here."""
        if holder.execution is None:
            return False
        try:
            execution = await self._store.get(uuid.UUID(holder.execution))
        except ValueError:
            return False
        if execution is None or not execution.state.final:
            return False
        await self._locks.release_of(target, holder.execution)
        return True

    async def free_locks(self, ended: Sequence[Execution]) -> None:
        """Free the targets of executions found ended (interrupted by a crash): compare-and-delete by owner."""
        for execution in ended:
            if execution.lock_key is None:
                continue
            try:
                await self._locks.release_of(execution.lock_key, str(execution.id))
            except errors.UnavailableError as exc:
                # The next request on the target finds the lock's execution ended and frees it then.
                log.warning("could not free an interrupted run's lock", execution_id=str(execution.id), error=str(exc))

    # ---- confirmation ---------------------------------------------------------------------------

    async def load(self, execution_id: uuid.UUID) -> tuple[Execution, Procedure]:
        execution = await self._store.get(execution_id)
        if execution is None:
            raise errors.NotFoundError("request_gone")
        procedure = self.procedures.get(execution.procedure)
        if procedure is None:
            raise errors.NotFoundError("procedure_gone", procedure=errors.Code(execution.procedure))
        return execution, procedure

    def _not_pending(self, execution: Execution) -> errors.UserError:
        if execution.state == State.PENDING and execution.expires_at <= self._clock():
            return errors.UserError("request_expired")
        approver = errors.User(execution.approver) if execution.approver else None
        return errors.UserError("request_already", state=execution.state.value, approver=approver)

    async def confirm(
        self, execution_id: uuid.UUID, clicker: str, channel_id: str, on_progress: ProgressCallback
    ) -> Execution:
        """Run a pending execution exactly once. Raises UserError/DeniedError when the click may not."""
        execution, procedure = await self.load(execution_id)
        if channel_id != execution.channel_id:
            raise errors.DeniedError("button_in_other_channel", reason="channel")
        if execution.state != State.PENDING or execution.expires_at <= self._clock():
            raise self._not_pending(execution)
        try:
            role = await self._policy.check_confirm(
                procedure,
                requester=execution.requester,
                clicker=clicker,
                channel_id=channel_id,
                emergency=bool(execution.args.get(EMERGENCY_ARG)),
            )
            await self._policy.check_change_rate(execution.requester, str(execution.id))
        except errors.DeniedError as exc:
            await self._store.audit(_entry("denied", clicker, execution, reason=exc.reason, at="confirm"))
            raise
        # The single atomic pending → running transition: whoever wins runs it; every other click,
        # retry or replica gets None here and is told it already ran.
        claimed = await self._store.claim(
            execution.id,
            approver=clicker,
            owner=self._replica_id,
            audit=_entry("confirmed", clicker, execution, **{"as": role}, **_emergency(execution, role)),
        )
        if claimed is None:
            raise self._not_pending(await self._store.get(execution.id) or execution)
        lock = await self._take_lock(claimed, procedure, clicker)
        try:
            final, done = await self._run(claimed, procedure, on_progress)
        except asyncio.CancelledError:
            # Shut down past the grace period: _run recorded "interrupted"; before the process exits the
            # target is freed and the message says so. Nothing is re-run.
            await self._release(lock)
            # Best effort and bounded: the process is exiting; if PostgreSQL is gone too, the next
            # process's recovery updates the message.
            with contextlib.suppress(errors.BotError, TimeoutError):
                async with asyncio.timeout(SHUTDOWN_NOTICE_SECONDS):
                    interrupted = await self._store.get(claimed.id)
                    if interrupted is not None:
                        await on_progress(interrupted, tuple(interrupted.steps), None, None)
            raise
        await self._release(lock)
        # The outcome is shown only once the target is free again, so "done" means "you may go on".
        await on_progress(final, done, None, None)
        return final

    async def _release(self, lock: object | None) -> None:
        if lock is not None:
            # If Redis is gone the lock's TTL frees it; the outcome is already recorded.
            with contextlib.suppress(errors.UnavailableError):
                await self._locks.release(lock)

    async def _take_lock(self, claimed: Execution, procedure: Procedure, clicker: str) -> object | None:
        """The target's lock, or nothing ran: Redis down fails the execution, a busy target un-claims it."""
        if claimed.lock_key is None:
            return None
        try:
            got = await self._locks.acquire(
                claimed.lock_key,
                owner=clicker,
                procedure=procedure.name,
                service=claimed.service,
                ttl_seconds=int(sum(s.timeout_seconds for s in procedure.steps)) + 60,
                execution=str(claimed.id),
            )
        except errors.UnavailableError as exc:
            await self._store.finish(
                claimed.id,
                State.FAILED,
                error=errors.plain(errors.Said("not_started", error=errors.said_of(exc))),
                audit=_entry("outcome", BOT_ACTOR, claimed, state="failed", reason="lock unavailable"),
            )
            detail = errors.Said("nothing_was_changed", detail=exc.said_detail)
            raise errors.UnavailableError(exc.said_dependency, detail) from exc
        if isinstance(got, Holder):
            await self._store.unclaim(claimed.id, _entry("lock_busy", BOT_ACTOR, claimed, holder=got.owner))
            raise BusyError(claimed.service, got, errors.Said("confirm_when_finished"))
        return got

    async def _run(
        self, execution: Execution, procedure: Procedure, on_progress: ProgressCallback
    ) -> tuple[Execution, tuple[StepRecord, ...]]:
        done: list[StepRecord] = []
        started = time.monotonic()
        heartbeat = asyncio.create_task(self._heartbeat(execution.id), name=f"heartbeat-{execution.id}")
        state, error = State.SUCCEEDED, None
        recorded = drift.recorded(execution.preview)
        try:
            changed = await self._changed_since_preview(execution, procedure, recorded)
            if changed is not None:
                state, error = State.FAILED, changed
            steps = self._steps.chosen(procedure, execution.args) if changed is None else []
            for index, step in steps:
                label = step.label()
                await on_progress(execution, tuple(done), label, None)

                async def report(line: errors.Said, _label: str = label) -> None:
                    await on_progress(execution, tuple(done), _label, line)

                step_started = time.monotonic()
                try:
                    result = await self._steps.run(
                        procedure,
                        step,
                        execution.args,
                        execution.service,
                        progress=report,
                        expected=recorded.get(index, {}).get("data"),
                    )
                    # The step record and its audit row keep the summary as it was said (plain text).
                    ok, summary, details = True, result.summary_text, result.details
                except errors.BotError as exc:
                    ok, summary, details = False, str(exc), None
                record = StepRecord(
                    index=index,
                    label=label,
                    ok=ok,
                    summary=summary,
                    seconds=round(time.monotonic() - step_started, 3),
                    details=details,
                )
                # The audit row for the step commits with it; if it cannot, the run stops here (fail closed).
                await self._store.record_step(
                    execution.id,
                    record,
                    _entry(
                        "step",
                        BOT_ACTOR,
                        execution,
                        index=index,
                        label=label,
                        ok=ok,
                        summary=summary,
                        seconds=record.seconds,
                    ),
                )
                done.append(record)
                if not ok:
                    state, error = State.FAILED, summary
                    break
        except asyncio.CancelledError:
            state, error = State.INTERRUPTED, errors.plain(errors.Said("shut_down_during_step"))
            raise
        except errors.UnavailableError as exc:
            state, error = State.FAILED, errors.plain(errors.Said("stopped", error=errors.said_of(exc)))
        finally:
            heartbeat.cancel()
            final = await self._finish(execution, state, error, round(time.monotonic() - started, 3))
        return final, tuple(done)

    async def _changed_since_preview(
        self, execution: Execution, procedure: Procedure, recorded: Mapping[int, Mapping[str, Any]]
    ) -> str | None:
        """The preview is what runs: the dry run again, compared with what the preview saw; a
        description of what changed (the run stops), or None."""
        if execution.preview is None or "seen" not in execution.preview:
            return None  # requested before previews recorded what they saw
        if self._steps.checked_by_its_step(procedure, execution.args) in recorded:
            return None  # that step compares what it reads with the preview before it writes
        try:
            _, _, now = await self._steps.preview(procedure, execution.args, execution.service)
        except errors.BotError as exc:
            return errors.plain(errors.Said("preview_unchecked", error=errors.said_of(exc)))
        return drift.describe(recorded, drift.by_index(now))

    async def _finish(self, execution: Execution, state: State, error: str | None, elapsed: float) -> Execution:
        try:
            final = await self._store.finish(
                execution.id,
                state,
                error=error,
                audit=_entry("outcome", BOT_ACTOR, execution, state=state.value, error=error, seconds=elapsed),
            )
        except errors.UnavailableError:
            final = None  # crash recovery marks it interrupted once PostgreSQL is back
        return final or replace(execution, state=state, error=error)

    async def _heartbeat(self, execution_id: uuid.UUID) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_seconds)
            with contextlib.suppress(errors.UnavailableError):  # a missed beat or two is not death
                await self._store.heartbeat(execution_id)

    async def cancel(self, execution_id: uuid.UUID, clicker: str, channel_id: str) -> Execution:
        execution, procedure = await self.load(execution_id)
        # Same rule as Confirm: a button only acts on a request made in the channel it was clicked in.
        if channel_id != execution.channel_id:
            raise errors.DeniedError("button_in_other_channel", reason="channel")
        if clicker != execution.requester and not await self._policy.may_run(procedure, clicker):
            raise errors.DeniedError(
                "who_may_cancel",
                requester=errors.User(execution.requester),
                procedure=errors.Code(procedure.name),
                reason="cancel",
            )
        cancelled = await self._store.cancel(execution.id, _entry("cancelled", clicker, execution))
        if cancelled is None:
            raise self._not_pending(await self._store.get(execution.id) or execution)
        return cancelled

    # ---- housekeeping ----------------------------------------------------------------------------

    async def recover_interrupted(self, *, stale_after_seconds: float) -> list[Execution]:
        """Executions cut off by a crash (heartbeat stale): marked interrupted, never re-run.
        Returned so the Slack layer can redraw their messages. A lock follows its execution: the
        target of a run found interrupted is free again at once."""
        interrupted = await self._store.interrupt_orphans(stale_after_seconds=stale_after_seconds)
        await self.free_locks(interrupted)
        return interrupted

    async def sweep(self, *, stale_after_seconds: float) -> list[Execution]:
        """Close expired requests and interrupted executions; returns them all, for redrawing."""
        expired = await self._store.expire_due()
        return [*expired, *await self.recover_interrupted(stale_after_seconds=stale_after_seconds)]

    # ---- reads -----------------------------------------------------------------------------------

    async def history(self, service: str | None, *, limit: int) -> History:
        """The latest executions (of one service, or all) and, for one service, its rollout history."""
        executions = await self._store.recent(service=service, limit=limit)
        svc = self.catalog.services[service] if service is not None else None
        if svc is None or svc.kubernetes is None or not svc.kubernetes.deployment:  # compose has no rollouts
            return History(executions, None)
        rollout = await self._registry.get(ROLLOUT_HISTORY).run(
            ActionContext(service_name=service, service=svc),
            self._registry.validate_params(ROLLOUT_HISTORY, {}),
        )
        return History(executions, rollout)

    async def attach_message(self, execution_id: uuid.UUID, channel_id: str, message_ts: str) -> None:
        """Remember where a request's preview was posted, so later changes update that message."""
        await self._store.set_message(execution_id, channel_id, message_ts)
