"""Shared bits of the communications tests: the incidents channel and reading a message's text."""

from __future__ import annotations

import json
from datetime import datetime

from bot.app import BotProcess
from sandbox import blockkit
from sandbox.slack_fake import Message, SlackFake

INCIDENTS = "C0INCIDENTS"


def shown(message: Message) -> str:
    """Everything a message shows (fallback text and blocks), after checking it is valid Block Kit."""
    assert blockkit.validate_message_blocks(message.blocks) == []
    return message.text + "\n" + json.dumps(message.blocks, ensure_ascii=False)


def channel_posts(slack: SlackFake, channel: str = INCIDENTS) -> list[Message]:
    return [m for m in slack.messages(channel) if not m.is_ephemeral]


def notices(slack: SlackFake, needle: str, channel: str = INCIDENTS) -> list[Message]:
    return [m for m in slack.messages(channel) if not m.is_ephemeral and needle in m.text]


async def declared_at(bot: BotProcess, incident_id: int) -> datetime:
    assert bot.runtime is not None
    async with bot.runtime.db.acquire() as conn:
        value = await conn.fetchval("SELECT declared_at FROM incidents WHERE id = $1", incident_id)
    assert isinstance(value, datetime)
    return value


async def confirmed(slack: SlackFake, user: str, needle: str) -> Message:
    """The ephemeral line a command ends with: waiting for it means the listener is done."""
    found = await slack.wait_for(lambda: [m for m in slack.ephemeral_messages(user) if needle in m.text])
    return found[-1]
