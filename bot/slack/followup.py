"""Acknowledge now, answer later: a listener's work after the ack goes on the bounded follow-up queue."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bot.followups import FollowUps, Work
from bot.runbooks.engine import Invocation
from bot.slack import runbook_views as views
from bot.slack.replies import action_invocation, reply_error
from bot.slack.webapi import SlackWebApi

BUSY = "I'm busy with other requests right now; nothing was done. Try again in a moment."


async def ack_command_then(followups: FollowUps, ack: AsyncAck, name: str, work: Work) -> None:
    """Slash command: ack with `work` queued, or ack with the busy answer (shown to the user) when the queue is full."""
    if followups.offer(name, work):
        await ack()
    else:
        await ack(text=BUSY, blocks=views.error(BUSY), response_type="ephemeral")


async def ack_click_then(
    followups: FollowUps, slack: SlackWebApi, ack: AsyncAck, body: dict[str, Any], name: str, work: Work
) -> None:
    """Button click: Slack ignores an ack's body here, so a full queue is answered through response_url."""
    await ack_then(followups, slack, ack, action_invocation(body), name, work)


async def ack_then(
    followups: FollowUps, slack: SlackWebApi, ack: AsyncAck, who: Invocation, name: str, work: Work
) -> None:
    """A click or a modal submission (the ack closes the modal): a full queue is answered to `who` apart."""
    await ack()
    if not followups.offer(name, work):
        await reply_error(slack, who, BUSY)
