"""The reminder's "Post update" button opens its modal (with the status page choice) right after the ack,
not from the follow-up queue: a trigger_id lives 3 s, and a busy queue must not make it expire."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.ids import ActionId
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from sandbox.statuspage_fake import StatuspageFake
from tests.comms.helpers import INCIDENTS, declared_at
from tests.comms.outbound_helpers import declare_public, preview
from tests.conftest import MakeBot, user_of
from tests.flows import BUSY


async def sent(slack: SlackFake, method: str, count: int) -> None:
    """Until the fake has received `count` calls to `method`, answered or not."""
    async with asyncio.timeout(15):
        while len(slack.calls_to(method)) < count:  # noqa: ASYNC110 - the fake notifies on answers only
            await asyncio.sleep(0.01)


async def test_post_update_opens_its_modal_while_the_follow_up_queue_is_full(
    make_bot: MakeBot, env: dict[str, str], slack: SlackFake, statuspage: StatuspageFake
) -> None:
    bot = await make_bot(**env, FOLLOWUP_WORKERS="1", FOLLOWUP_QUEUE="1")
    assert bot.runtime is not None
    async with user_of(bot, slack, "U0ALICE") as alice:
        notice = await declare_public(alice, slack, "Checkout is down")
        await alice.click(await preview(slack, notice), "Post to the status page")
        await statuspage.wait_for(lambda: statuspage.incidents)
        await bot.runtime.scheduler.run_due(now=await declared_at(bot, 1) + timedelta(minutes=15))
        reminder = slack.thread_replies(INCIDENTS, notice.ts)[-1]
        assert ActionId.INCIDENT_POST_UPDATE.value in str(reminder.blocks)

        await fill_the_queue(slack, alice)
        await alice.block_action(reminder, ActionId.INCIDENT_POST_UPDATE.value)
        opened = await slack.wait_for(lambda: (slack.views_for("U0ALICE") or [None])[-1], timeout=10)
        assert "Status page: new status" in str(opened.view)
        assert not [m for m in slack.ephemeral_messages("U0ALICE") if BUSY in m.text]
        slack.clear_faults()


async def fill_the_queue(slack: SlackFake, user: SlackUser) -> None:
    """One worker waiting on a slow Slack answer, one request queued behind it: the queue (of one) is full."""
    before = len(slack.calls_to("chat.postMessage"))
    slack.delay("chat.postMessage", 5.0, count=1)
    await user.slash_command("status backend")
    await sent(slack, "chat.postMessage", before + 1)
    await user.slash_command("status frontend")
