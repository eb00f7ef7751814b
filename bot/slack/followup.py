"""Acknowledge now, answer later: a listener's work after the ack goes on the bounded follow-up queue."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bot.followups import FollowUps, Work
from bot.slack.replies import Replier, action_invocation


async def ack_command_then(followups: FollowUps, replier: Replier, ack: AsyncAck, name: str, work: Work) -> None:
    """Slash command: ack with `work` queued, or ack with the busy answer (shown to the user) when the queue is full."""
    if followups.offer(name, work):
        await ack()
    else:
        text, blocks = replier.views.busy()
        await ack(text=text, blocks=blocks, response_type="ephemeral")


async def ack_click_then(
    followups: FollowUps, replier: Replier, ack: AsyncAck, body: dict[str, Any], name: str, work: Work
) -> None:
    """Button click: Slack ignores an ack's body here, so a full queue is answered through response_url."""
    await ack()
    if not followups.offer(name, work):
        await replier.busy(action_invocation(body))
