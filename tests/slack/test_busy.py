"""When follow-up work piles up, new requests are told "busy, try again" in the ack, never left waiting."""

from __future__ import annotations

import asyncio

from bot.app import BotProcess
from bot.ids import ActionId
from sandbox.slack_client import SlackUser, find_buttons
from sandbox.slack_fake import SlackFake
from tests.conftest import MakeBot, user_of
from tests.flows import BUSY


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


async def _fill_the_queue(slack: SlackFake, user: SlackUser) -> None:
    """One worker waiting on a slow Slack answer, one request queued behind it: the queue (of one) is full."""
    slack.delay("chat.postMessage", 2.0, count=1)
    await user.slash_command("status backend")
    await received(slack, "chat.postMessage", 1)
    await user.slash_command("status frontend")


async def _rows(bot: BotProcess, table: str) -> int:
    assert bot.runtime is not None
    async with bot.runtime.db.acquire() as conn:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608 (the tests' own table names)


async def test_incident_and_maintenance_commands_answer_busy_in_the_ack_and_do_nothing(
    make_bot: MakeBot, slack: SlackFake
) -> None:
    bot = await make_bot(FOLLOWUP_WORKERS="1", FOLLOWUP_QUEUE="1")
    async with user_of(bot, slack, "U0ALICE") as alice:
        await _fill_the_queue(slack, alice)
        declared = await alice.slash_command('declare P1 "Checkout down"', command="/incident")
        scheduled = await alice.slash_command("schedule 2030-12-01 22:00 1h Queue drain", command="/maintenance")
        for answer in (declared, scheduled):
            assert answer.status == 200
            assert (answer.json()["response_type"], answer.json()["text"]) == ("ephemeral", BUSY)
        await slack.wait_for(lambda: len([c for c in slack.calls_to("chat.postMessage") if c.status]) >= 2, 15)
    assert await _rows(bot, "incidents") == 0
    assert await _rows(bot, "maintenance_windows") == 0
    assert "Checkout down" not in str([c.params for c in slack.calls]), "the refused requests did nothing"


async def test_a_declare_modal_submitted_while_busy_is_told_so_and_declares_nothing(
    make_bot: MakeBot, slack: SlackFake
) -> None:
    bot = await make_bot(FOLLOWUP_WORKERS="1", FOLLOWUP_QUEUE="1")
    async with user_of(bot, slack, "U0ALICE") as alice:
        await alice.slash_command("declare", command="/incident")
        modal = await slack.wait_for(lambda: (slack.views_for("U0ALICE") or [None])[-1])
        await _fill_the_queue(slack, alice)
        submitted = await alice.view_submission(
            modal.view,
            {
                "title": {"title": "Checkout down"},
                "severity": {"severity": {"type": "static_select", "selected_option": {"value": "P1"}}},
            },
        )
        assert submitted.status == 200
        await slack.wait_for(lambda: [m for m in slack.ephemeral_messages("U0ALICE") if BUSY in m.text] or None, 15)
        await slack.wait_for(lambda: len([c for c in slack.calls_to("chat.postMessage") if c.status]) >= 2, 15)
    assert await _rows(bot, "incidents") == 0


async def test_a_guide_button_clicked_while_busy_is_told_so_and_opens_nothing(
    make_bot: MakeBot, slack: SlackFake
) -> None:
    """A guide's buttons queue their work like every other click: refused busy, not run beside the queue."""
    bot = await make_bot(FOLLOWUP_WORKERS="1", FOLLOWUP_QUEUE="1")
    async with user_of(bot, slack, "U0ALICE") as alice:
        await alice.slash_command("guide")
        menu = await slack.wait_for(
            lambda: next((m for m in slack.ephemeral_messages("U0ALICE") if "Runbook guides" in m.text), None)
        )
        open_dashboard = next(b for b in find_buttons(menu) if "email-dashboard" in (b.value or ""))
        await _fill_the_queue(slack, alice)

        click = await alice.block_action(menu, open_dashboard.action_id)

        assert click.status == 200
        await slack.wait_for(lambda: [m for m in slack.ephemeral_messages("U0ALICE") if BUSY in m.text] or None, 15)
        await slack.wait_for(lambda: len([c for c in slack.calls_to("chat.postMessage") if c.status]) >= 2, 15)
    assert not [m for m in slack.ephemeral_messages("U0ALICE") if "Pick what you see" in str(m.blocks)]
