"""Acknowledge now, answer later: a listener's work after the ack goes on the bounded follow-up queue."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bot.followups import FollowUps, Work
from bot.runbooks.engine import Invocation
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
    await ack_then(followups, replier, ack, action_invocation(body), name, work)


async def ack_then(
    followups: FollowUps, replier: Replier, ack: AsyncAck, who: Invocation, name: str, work: Work
) -> None:
    """A click or a modal submission (the ack closes the modal): a full queue is answered to `who` apart."""
    await ack()
    if not followups.offer(name, work):
        await replier.busy(who)
