"""Confirm and Cancel clicks on a runbook preview. The button carries only the execution id."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import errors, metrics
from bot.followups import FollowUps
from bot.ids import ActionId
from bot.runbooks.engine import Engine, Invocation
from bot.runbooks.executions import Execution, StepRecord
from bot.runbooks.model import Procedure
from bot.slack import breakglass, runbook_contexts
from bot.slack.followup import ack_click_then
from bot.slack.replies import Replier, action_invocation, answering
from bot.slack.runbook_views import RunbookViews
from bot.slack.webapi import SlackWebApi
from bot.tasks import TaskOwner

log = structlog.get_logger(__name__)
# chat.update is Tier 3 (~50/min per workspace): progress lines within a step are throttled,
# step boundaries and the outcome always go out.
PROGRESS_MIN_INTERVAL = 1.0
FINAL_UPDATE_ATTEMPTS = 20
FINAL_UPDATE_BACKOFF_MAX = 30.0


@dataclass(frozen=True)
class ExecutionRuntime:
    """What the Confirm and Cancel clicks use; built by the composition root."""

    slack: SlackWebApi
    engine: Engine
    procedures: Mapping[str, Procedure]
    tasks: TaskOwner  # a confirmed run outlives the click's request
    followups: FollowUps  # the work after the ack, on a bounded queue
    views: RunbookViews  # how the preview, progress and outcome look
    replier: Replier  # errors, busy and outage answers (templates/reply_*)


def register(app: AsyncApp, rt: ExecutionRuntime) -> None:
    async def handle_confirm_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack_click_then(rt.followups, rt.replier, ack, body, "confirm", lambda: _on_click(rt, body, confirm=True))

    async def handle_cancel_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack_click_then(rt.followups, rt.replier, ack, body, "cancel", lambda: _on_click(rt, body, confirm=False))

    app.action(ActionId.CONFIRM.value)(handle_confirm_action)
    app.action(ActionId.CANCEL.value)(handle_cancel_action)


def _execution_id(body: dict[str, Any]) -> uuid.UUID:
    actions = body.get("actions") or [{}]
    try:
        return uuid.UUID(str(actions[0].get("value", "")))
    except ValueError:
        raise errors.UserError("not_a_request_button") from None


def _preview_ts(execution: Execution, body: dict[str, Any]) -> str | None:
    """The preview message's ts. A fast click can arrive before the ts is stored (it is stored right
    after posting), so fall back to the clicked message, but only in the execution's own channel."""
    if execution.message_ts:
        return execution.message_ts
    container = body.get("container") or {}
    if container.get("channel_id") == execution.channel_id and container.get("message_ts"):
        return str(container["message_ts"])
    return None


async def _on_click(rt: ExecutionRuntime, body: dict[str, Any], *, confirm: bool) -> None:
    who = action_invocation(body)
    async with answering(rt.replier, who, "that click", changes=True):
        execution_id = _execution_id(body)
        if confirm:
            execution, procedure = await rt.engine.load(execution_id)
            progress = MessageProgress(
                rt.slack,
                rt.views,
                execution,
                procedure,
                _preview_ts(execution, body),
                runbook_contexts.approvers(rt.engine.catalog),
            )
            # Owned task: a rollout can outlive this listener, and shutdown must know about it.
            rt.tasks.spawn(f"execution-{execution_id}", _confirm(rt, who, execution_id, progress))
        else:
            cancelled = await rt.engine.cancel(execution_id, who.user_id, who.channel_id)
            metrics.observe_execution(cancelled)
            procedure = rt.procedures[cancelled.procedure]
            text, blocks = rt.views.closed(cancelled, procedure, by=who.user_id)
            preview_ts = _preview_ts(cancelled, body)
            if preview_ts:
                await rt.slack.update_message(cancelled.channel_id, preview_ts, text, blocks)


async def _confirm(rt: ExecutionRuntime, who: Invocation, execution_id: uuid.UUID, progress: MessageProgress) -> None:
    async with answering(rt.replier, who, "this confirmation", changes=True):
        final = await rt.engine.confirm(execution_id, who.user_id, who.channel_id, progress.update)
        metrics.observe_execution(final)


class MessageProgress:
    """Re-renders the preview message as the execution moves; the outcome is retried until Slack takes it."""

    def __init__(
        self,
        slack: SlackWebApi,
        views: RunbookViews,
        execution: Execution,
        procedure: Procedure,
        ts: str | None,
        approvers: tuple[str, ...],
    ) -> None:
        self._slack = slack
        self._views = views
        self._approvers = approvers  # told at once when the run is a break-glass one
        self._approvers_told = False
        self._procedure = procedure
        self._channel = execution.channel_id
        self._ts = ts
        self._last_sent = 0.0
        self._last_step_count = -1

    async def update(
        self, execution: Execution, steps: tuple[StepRecord, ...], current: str | None, line: errors.Said | None
    ) -> None:
        if self._ts is None:
            log.warning("no message to show progress in", execution_id=str(execution.id))
            return
        await self._tell_approvers(execution)
        text, blocks = self._views.progress(execution, self._procedure, steps, current, line)
        if execution.state.final:
            await self._send_final(text, blocks)
            return
        now = time.monotonic()
        boundary = len(steps) != self._last_step_count or line is None
        if not boundary and now - self._last_sent < PROGRESS_MIN_INTERVAL:
            return
        self._last_sent, self._last_step_count = now, len(steps)
        try:
            await self._slack.update_message(self._channel, self._ts, text, blocks)
        except errors.BotError as exc:
            # Progress is best effort: the execution goes on, and the outcome is retried.
            log.warning("progress update failed", channel=self._channel, error=str(exc))

    async def _tell_approvers(self, execution: Execution) -> None:
        """A break-glass run tells the approvers as it starts (once), in the request's thread."""
        why = breakglass.reason(execution)
        if why is None or self._approvers_told:
            return
        self._approvers_told = True
        text, blocks = self._views.breakglass_notice(execution, why, self._approvers)
        try:
            await self._slack.post_message(self._channel, text, blocks, thread_ts=self._ts)
        except errors.BotError as exc:
            # The audit row already says it was an emergency; the run is not stopped for a lost notice.
            log.error("break-glass notice not posted", execution_id=str(execution.id), error=str(exc))

    async def _send_final(self, text: str, blocks: Any) -> None:
        assert self._ts is not None
        delay = 1.0
        for attempt in range(1, FINAL_UPDATE_ATTEMPTS + 1):
            try:
                await self._slack.update_message(self._channel, self._ts, text, blocks)
                return
            except errors.BotError as exc:
                log.warning("outcome update failed; retrying", attempt=attempt, error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, FINAL_UPDATE_BACKOFF_MAX)
        log.error("outcome never reached Slack", channel=self._channel, ts=self._ts)
