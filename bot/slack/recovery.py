"""Housekeeping that keeps messages truthful: expired requests lose their buttons, and executions
cut off by a crash are marked interrupted (never re-run) and say so."""

from __future__ import annotations

import structlog

from bot import errors, metrics
from bot.runbooks.executions import Execution
from bot.runtime import Runtime
from bot.slack import runbook_views as views

log = structlog.get_logger(__name__)


async def _show_closed(rt: Runtime, executions: list[Execution]) -> None:
    for execution in executions:
        metrics.count_closed_by_sweep(execution)
        procedure = rt.procedures.get(execution.procedure)
        if procedure is None or execution.message_ts is None:
            continue
        if execution.steps:
            text, blocks = views.progress(execution, procedure, execution.steps, None, None)
        else:
            text, blocks = views.closed(execution, procedure)
        try:
            await rt.slack.update_message(execution.channel_id, execution.message_ts, text, blocks)
        except errors.BotError as exc:
            log.warning("could not update a closed request's message", execution_id=str(execution.id), error=str(exc))


async def recover_interrupted(rt: Runtime) -> list[Execution]:
    interrupted = await rt.executions.interrupt_orphans(stale_after_seconds=rt.settings.execution_stale_seconds)
    if interrupted:
        log.warning("executions interrupted by a restart", count=len(interrupted))
    # A lock follows its execution: the target of a run found interrupted is free again at once.
    await rt.engine.free_locks(interrupted)
    await _show_closed(rt, interrupted)
    return interrupted


async def sweep(rt: Runtime) -> None:
    await _show_closed(rt, await rt.executions.expire_due())
    await recover_interrupted(rt)
