"""A button clicked on a thread reply (a health report's details, an alert's follow-up) answers in that
thread, not at the channel's top level."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import BotProcess
from bot.ids import BlockId, suggestion_action_id, suggestion_value
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import Message, SlackFake

OPS = "C0OPS"


@pytest.fixture(autouse=True)
async def listeners_done(bot: BotProcess) -> AsyncIterator[None]:
    yield
    # The test ends when Slack has the answer; the listener that sent it finishes an instant later.
    listeners = [t for t in asyncio.all_tasks() if "run_ack_function" in repr(t.get_coro())]
    if listeners:
        await asyncio.wait(listeners, timeout=10)


async def post_as_bot(slack: SlackFake, text: str, *, thread_ts: str | None = None, button: bool = False) -> Message:
    """A message of the bot's (a report summary, or a detail reply with a suggested procedure's button)."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    if button:
        element = {
            "type": "button",
            "text": {"type": "plain_text", "text": "status backend"},
            "action_id": suggestion_action_id(0),
            "value": suggestion_value("status", "backend"),
        }
        blocks.append({"type": "actions", "block_id": BlockId.SUGGESTED_ACTIONS.value, "elements": [element]})
    web = AsyncWebClient(token=slack.token, base_url=slack.api_url)
    posted = await web.chat_postMessage(channel=OPS, text=text, blocks=blocks, thread_ts=thread_ts)
    return slack.message(OPS, str(posted["ts"]))


async def test_a_suggested_procedure_clicked_in_a_thread_answers_in_that_thread(
    alice: SlackUser, slack: SlackFake
) -> None:
    summary = await post_as_bot(slack, "Health report: 1 failing")
    detail = await post_as_bot(slack, "backend: error rate 7%", thread_ts=summary.ts, button=True)

    await alice.block_action(detail, suggestion_action_id(0))
    answer = await slack.wait_for(
        lambda: next((m for m in slack.thread_replies(OPS, summary.ts) if "ready" in m.text), None), timeout=15
    )

    assert "mail-score-backend" in str(answer.blocks)
    assert slack.last_message(OPS) is not None and slack.last_message(OPS).ts == summary.ts  # nothing at top level


async def test_a_suggested_procedure_clicked_at_top_level_answers_at_top_level(
    alice: SlackUser, slack: SlackFake
) -> None:
    message = await post_as_bot(slack, "Alert: backend error rate", button=True)

    await alice.block_action(message, suggestion_action_id(0))
    answer = await slack.wait_for(
        lambda: next((m for m in slack.messages(OPS) if m.ts != message.ts and "ready" in m.text), None), timeout=15
    )

    assert not answer.is_reply
