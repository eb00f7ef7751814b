"""Redrawing what the engine closed, so messages stay truthful: expired requests lose their
buttons, and executions cut off by a crash (marked interrupted by the engine, never re-run) say so."""

from __future__ import annotations

from collections.abc import Mapping

import structlog

from bot import errors, metrics
from bot.runbooks.executions import Execution
from bot.runbooks.model import Procedure
from bot.slack.runbook_views import RunbookViews
from bot.slack.webapi import SlackWebApi

log = structlog.get_logger(__name__)


async def show_closed(
    slack: SlackWebApi, views: RunbookViews, procedures: Mapping[str, Procedure], executions: list[Execution]
) -> None:
    for execution in executions:
        metrics.count_closed_by_sweep(execution)
        procedure = procedures.get(execution.procedure)
        if procedure is None or execution.message_ts is None:
            continue
        if execution.steps:
            text, blocks = views.progress(execution, procedure, execution.steps, None, None)
        else:
            text, blocks = views.closed(execution, procedure)
        try:
            await slack.update_message(execution.channel_id, execution.message_ts, text, blocks)
        except errors.BotError as exc:
            log.warning("could not update a closed request's message", execution_id=str(execution.id), error=str(exc))
