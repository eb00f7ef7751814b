"""When follow-up work piles up, new requests are told "busy, try again" in the ack, never left waiting."""

from __future__ import annotations

import asyncio

from bot.ids import ActionId
from sandbox.slack_fake import SlackFake
from tests.conftest import MakeBot, user_of

BUSY = "I'm busy with other requests right now; nothing was done. Try again in a moment."  # templates/reply_busy


async def received(slack: SlackFake, method: str, count: int) -> None:
    """Until the fake has received `count` calls to `method`, answered or not (wait_for wakes on answers)."""
    async with asyncio.timeout(15):
        while True:
            if len(slack.calls_to(method)) >= count:
                return
            await asyncio.sleep(0.01)


async def test_a_full_follow_up_queue_answers_busy_in_the_ack_and_does_nothing_more(
    make_bot: MakeBot, slack: SlackFake
) -> None:
    bot = await make_bot(FOLLOWUP_WORKERS="1", FOLLOWUP_QUEUE="1")
    slack.delay("chat.postMessage", 2.0, count=1)  # the first answer is slow: the one worker stays busy
    async with user_of(bot, slack, "U0ALICE") as alice:
        first = await alice.slash_command("status backend")
        await received(slack, "chat.postMessage", 1)  # the one worker now waits for Slack
        second = await alice.slash_command("status frontend")  # waits in the queue
        third = await alice.slash_command("status email-dashboard")

        assert (first.status, first.body, second.status, second.body) == (200, "", 200, "")
        assert third.status == 200
        answer = third.json()
        assert answer["response_type"] == "ephemeral"
        assert answer["text"] == BUSY

        posted = await slack.wait_for(lambda: [c for c in slack.calls_to("chat.postMessage") if c.status] or None)
        await slack.wait_for(lambda: len([c for c in slack.calls_to("chat.postMessage") if c.status]) >= 2, 15)
        assert posted
        texts = str([c.params for c in slack.calls_to("chat.postMessage")])
        assert "mail-score-backend" in texts and "mail-score-frontend" in texts
        assert "email-dashboard" not in texts, "the refused request did nothing"


async def test_a_click_refused_for_busy_is_acked_told_so_through_its_response_url_and_changes_nothing(
    make_bot: MakeBot, slack: SlackFake
) -> None:
    bot = await make_bot(FOLLOWUP_WORKERS="1", FOLLOWUP_QUEUE="1")
    async with user_of(bot, slack, "U0BOB") as bob:
        await bob.slash_command("scale backend 5")
        preview = await slack.wait_for(
            lambda: next((m for m in slack.messages("C0OPS") if ActionId.CANCEL.value in str(m.blocks)), None), 15
        )
        slack.delay("chat.postMessage", 2.0, count=1)
        await bob.slash_command("status backend")
        await received(slack, "chat.postMessage", 2)
        await bob.slash_command("status frontend")  # the queue is now full

        click = await bob.block_action(preview, ActionId.CANCEL.value)

        assert click.status == 200
        await slack.wait_for(lambda: [m for m in slack.ephemeral_messages("U0BOB") if BUSY in m.text] or None, 15)
        await slack.wait_for(lambda: len([c for c in slack.calls_to("chat.postMessage") if c.status]) >= 3, 15)
        current = slack.message("C0OPS", preview.ts)
        assert current is not None
        assert ActionId.CONFIRM.value in str(current.blocks), "the refused Cancel did not cancel the request"
