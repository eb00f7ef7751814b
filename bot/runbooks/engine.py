"""The runbook engine: request → policy → preview or run; confirm → exactly once → steps → outcome.

Knows procedures, policy and the storage/lock ports; renders nothing. The Slack
layer turns what it returns (and its progress callbacks) into messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot import errors
from bot.actions.registry import ActionContext, ActionRegistry, ActionResult, Change
from bot.catalog import Catalog
from bot.policy import Policy
from bot.runbooks.executions import AuditEntry, Execution, ExecutionStore, State, StepRecord
from bot.runbooks.loader import step_arguments
from bot.runbooks.model import Procedure
from bot.runbooks.parser import ParsedCommand


@dataclass(frozen=True)
class Holder:
    """Who holds a target's lock, for the message to whoever is waiting."""

    owner: str
    since: float
    detail: str


class Locks(Protocol):
    """A lock per target (deployment) shared by every replica, with a TTL.

    `acquire` returns an opaque token to pass to `release`, or the Holder when busy.
    """

    async def acquire(self, name: str, *, owner: str, detail: str, ttl_seconds: int) -> object: ...

    async def release(self, token: object) -> None: ...

    async def holder(self, name: str) -> Holder | None: ...


Clock = Callable[[], datetime]
# (execution, steps done so far, label of the step now running or None, latest progress line)
ProgressCallback = Callable[[Execution, tuple[StepRecord, ...], str | None, str | None], Awaitable[None]]


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


@dataclass(frozen=True)
class PendingOutcome:
    procedure: Procedure
    execution: Execution
    changes: tuple[Change, ...]
    notes: tuple[str, ...]


class BusyError(errors.UserError):
    """Another change holds the target's lock."""


def lock_name(catalog: Catalog, service: str | None) -> str | None:
    if service is None:
        return None
    svc = catalog.services[service]
    return f"{svc.context or 'default'}/{svc.namespace}/deployment/{svc.deployment}"


def describe_holder(holder: Holder) -> str:
    minutes = max(0, int((time.time() - holder.since) // 60))
    return f"{holder.detail} by <@{holder.owner}>, started {minutes} min ago"


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
    ) -> None:
        self.catalog = catalog
        self.procedures = procedures
        self._registry = registry
        self._policy = policy
        self._store = store
        self._locks = locks
        self._clock = clock
        self._replica_id = replica_id
        self._heartbeat_seconds = heartbeat_seconds

    # ---- request -------------------------------------------------------------------------------

    def _context(self, service: str | None, *, dry_run: bool, timeout: float, progress: Any = None) -> ActionContext:
        svc = None if service is None else self.catalog.services[service]
        ctx = ActionContext(service_name=service, service=svc, dry_run=dry_run, timeout_seconds=timeout)
        return ctx if progress is None else replace(ctx, report_progress=progress)

    def _steps_to_run(self, procedure: Procedure, args: Mapping[str, Any]) -> list[tuple[int, Any]]:
        chosen = []
        for index, step in enumerate(procedure.steps):
            if step.when:
                key, _, wanted = step.when.partition("=")
                if str(args.get(key.strip())) != wanted.strip():
                    continue
            chosen.append((index, step))
        return chosen

    async def _run_action(
        self, procedure: Procedure, step: Any, args: Mapping[str, Any], ctx: ActionContext
    ) -> ActionResult:
        action = self._registry.get(step.action)
        params = self._registry.validate_params(step.action, step_arguments(procedure, step.args, dict(args)))
        try:
            async with asyncio.timeout(step.timeout_seconds):
                return await action.run(ctx, params)
        except TimeoutError:
            raise errors.TargetError(f"`{step.label()}` did not finish within {step.timeout_seconds:g}s") from None

    async def request(self, parsed: ParsedCommand, who: Invocation) -> ReadOnlyOutcome | PendingOutcome:
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
                        detail={"reason": exc.reason, "args": dict(args)},
                    )
                )
            raise
        if not procedure.destructive:
            results = []
            for _, step in self._steps_to_run(procedure, args):
                ctx = self._context(parsed.service, dry_run=False, timeout=step.timeout_seconds)
                results.append(await self._run_action(procedure, step, args, ctx))
            return ReadOnlyOutcome(procedure=procedure, args=args, results=tuple(results))
        return await self._prepare(parsed, who)

    async def _prepare(self, parsed: ParsedCommand, who: Invocation) -> PendingOutcome:
        procedure, args = parsed.procedure, parsed.args
        target = lock_name(self.catalog, parsed.service) if procedure.lock else None
        if target is not None:
            holder = await self._locks.holder(target)
            if holder is not None:
                raise BusyError(
                    f"{parsed.service} is being changed right now ({describe_holder(holder)}). "
                    "Try again when it finishes."
                )
        changes: list[Change] = []
        notes: list[str] = []
        for _, step in self._steps_to_run(procedure, args):
            if not self._registry.get(step.action).mutating:
                notes.append(f"then {step.label()}")
                continue
            ctx = self._context(parsed.service, dry_run=True, timeout=step.timeout_seconds)
            result = await self._run_action(procedure, step, args, ctx)
            changes.extend(result.changes)
            notes.append(result.summary)
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
            preview={"changes": [c.__dict__ for c in changes], "notes": notes},
        )
        base = {"args": dict(args)}
        await self._store.create(
            execution,
            [
                AuditEntry(
                    kind="request",
                    actor=who.user_id,
                    channel_id=who.channel_id,
                    execution_id=execution.id,
                    procedure=procedure.name,
                    detail=base | {"policy": "allowed"},
                ),
                AuditEntry(
                    kind="preview",
                    actor="runbook-bot",
                    channel_id=who.channel_id,
                    execution_id=execution.id,
                    procedure=procedure.name,
                    detail={"changes": [c.__dict__ for c in changes]},
                ),
            ],
        )
        return PendingOutcome(procedure=procedure, execution=execution, changes=tuple(changes), notes=tuple(notes))

    # ---- confirmation ---------------------------------------------------------------------------

    async def load(self, execution_id: uuid.UUID) -> tuple[Execution, Procedure]:
        execution = await self._store.get(execution_id)
        if execution is None:
            raise errors.NotFoundError("That request does not exist (any more).")
        procedure = self.procedures.get(execution.procedure)
        if procedure is None:
            raise errors.NotFoundError(f"Procedure `{execution.procedure}` is no longer configured.")
        return execution, procedure

    def _not_pending(self, execution: Execution) -> errors.UserError:
        if execution.state == State.PENDING and execution.expires_at <= self._clock():
            return errors.UserError("This request expired before it was confirmed. Run the command again.")
        who = f" by <@{execution.approver}>" if execution.approver else ""
        return errors.UserError(f"This request is already {execution.state.value}{who}; nothing more was done.")

    async def confirm(
        self, execution_id: uuid.UUID, clicker: str, channel_id: str, on_progress: ProgressCallback
    ) -> Execution:
        """Run a pending execution exactly once. Raises UserError/DeniedError when the click may not."""
        execution, procedure = await self.load(execution_id)
        if channel_id != execution.channel_id:
            raise errors.DeniedError("That button belongs to a request in another channel.", reason="channel")
        if execution.state != State.PENDING or execution.expires_at <= self._clock():
            raise self._not_pending(execution)
        try:
            role = await self._policy.check_confirm(
                procedure, requester=execution.requester, clicker=clicker, channel_id=channel_id
            )
        except errors.DeniedError as exc:
            await self._store.audit(
                AuditEntry(
                    kind="denied",
                    actor=clicker,
                    channel_id=channel_id,
                    execution_id=execution.id,
                    procedure=procedure.name,
                    detail={"reason": exc.reason, "at": "confirm"},
                )
            )
            raise
        claimed = await self._store.claim(
            execution.id,
            approver=clicker,
            owner=self._replica_id,
            audit=AuditEntry(
                kind="confirmed",
                actor=clicker,
                channel_id=channel_id,
                execution_id=execution.id,
                procedure=procedure.name,
                detail={"as": role},
            ),
        )
        if claimed is None:
            latest = await self._store.get(execution.id)
            raise self._not_pending(latest or execution)
        lock: object | None = None
        if claimed.lock_key is not None:
            try:
                got = await self._locks.acquire(
                    claimed.lock_key,
                    owner=clicker,
                    detail=f"`{procedure.name}` on {claimed.service}",
                    ttl_seconds=int(sum(s.timeout_seconds for s in procedure.steps)) + 60,
                )
            except errors.UnavailableError as exc:
                await self._store.finish(
                    claimed.id,
                    State.FAILED,
                    error=f"not started: {exc}",
                    audit=AuditEntry(
                        kind="outcome",
                        actor="runbook-bot",
                        channel_id=channel_id,
                        execution_id=claimed.id,
                        procedure=procedure.name,
                        detail={"state": "failed", "reason": "lock unavailable"},
                    ),
                )
                raise errors.UnavailableError(exc.dependency, f"{exc.detail}; nothing was changed") from exc
            if not isinstance(got, Holder):
                lock = got
            else:
                await self._store.unclaim(
                    claimed.id,
                    AuditEntry(
                        kind="lock_busy",
                        actor="runbook-bot",
                        channel_id=channel_id,
                        execution_id=claimed.id,
                        procedure=procedure.name,
                        detail={"holder": got.owner},
                    ),
                )
                raise BusyError(
                    f"{claimed.service} is being changed right now ({describe_holder(got)}). "
                    "Click Confirm again when it finishes."
                )
        try:
            final, done = await self._run(claimed, procedure, on_progress)
        finally:
            if lock is not None:
                # If Redis is gone the lock's TTL frees it; the outcome is already recorded.
                with contextlib.suppress(errors.UnavailableError):
                    await self._locks.release(lock)
        # The outcome is shown only once the target is free again, so "done" means "you may go on".
        await on_progress(final, done, None, None)
        return final

    async def _run(
        self, execution: Execution, procedure: Procedure, on_progress: ProgressCallback
    ) -> tuple[Execution, tuple[StepRecord, ...]]:
        done: list[StepRecord] = []
        started = time.monotonic()
        heartbeat = asyncio.create_task(self._heartbeat(execution.id), name=f"heartbeat-{execution.id}")
        state, error = State.SUCCEEDED, None
        try:
            for index, step in self._steps_to_run(procedure, execution.args):
                label = step.label()
                await on_progress(execution, tuple(done), label, None)

                async def report(line: str, _label: str = label) -> None:
                    await on_progress(execution, tuple(done), _label, line)

                ctx = self._context(execution.service, dry_run=False, timeout=step.timeout_seconds, progress=report)
                step_started = time.monotonic()
                try:
                    result = await self._run_action(procedure, step, execution.args, ctx)
                    record = StepRecord(
                        index=index,
                        label=label,
                        ok=True,
                        summary=result.summary,
                        seconds=round(time.monotonic() - step_started, 3),
                        details=result.details,
                    )
                except errors.BotError as exc:
                    record = StepRecord(
                        index=index,
                        label=label,
                        ok=False,
                        summary=str(exc),
                        seconds=round(time.monotonic() - step_started, 3),
                    )
                # The audit row for the step commits with it; if it cannot, the run stops here (fail closed).
                await self._store.record_step(
                    execution.id,
                    record,
                    AuditEntry(
                        kind="step",
                        actor="runbook-bot",
                        channel_id=execution.channel_id,
                        execution_id=execution.id,
                        procedure=procedure.name,
                        detail={
                            "index": index,
                            "label": label,
                            "ok": record.ok,
                            "summary": record.summary,
                            "seconds": record.seconds,
                        },
                    ),
                )
                done.append(record)
                if not record.ok:
                    state, error = State.FAILED, record.summary
                    break
        except asyncio.CancelledError:
            state, error = State.INTERRUPTED, "the bot was shut down during this step; it was not re-run"
            raise
        except errors.UnavailableError as exc:
            state, error = State.FAILED, f"stopped: {exc}"
        finally:
            heartbeat.cancel()
            elapsed = round(time.monotonic() - started, 3)
            final = await self._finish(execution, procedure, state, error, elapsed)
        return final, tuple(done)

    async def _finish(
        self, execution: Execution, procedure: Procedure, state: State, error: str | None, elapsed: float
    ) -> Execution:
        try:
            final = await self._store.finish(
                execution.id,
                state,
                error=error,
                audit=AuditEntry(
                    kind="outcome",
                    actor="runbook-bot",
                    channel_id=execution.channel_id,
                    execution_id=execution.id,
                    procedure=procedure.name,
                    detail={"state": state.value, "error": error, "seconds": elapsed},
                ),
            )
        except errors.UnavailableError:
            final = None  # crash recovery marks it interrupted once PostgreSQL is back
        return final or replace(execution, state=state, error=error)

    async def _heartbeat(self, execution_id: uuid.UUID) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_seconds)
            try:
                await self._store.heartbeat(execution_id)
            except errors.UnavailableError:
                continue

    async def cancel(self, execution_id: uuid.UUID, clicker: str) -> Execution:
        execution, procedure = await self.load(execution_id)
        if clicker != execution.requester and not await self._policy.may_run(procedure, clicker):
            raise errors.DeniedError(
                f"Only <@{execution.requester}> or someone allowed to run `{procedure.name}` may cancel it.",
                reason="cancel",
            )
        cancelled = await self._store.cancel(
            execution.id,
            AuditEntry(
                kind="cancelled",
                actor=clicker,
                channel_id=execution.channel_id,
                execution_id=execution.id,
                procedure=procedure.name,
            ),
        )
        if cancelled is None:
            raise self._not_pending(await self._store.get(execution.id) or execution)
        return cancelled
