"""Our own PostgreSQL lost while someone confirms a status page post, moves or ends a maintenance window, or
reads a procedure's history: each is refused with one ephemeral line that names PostgreSQL, and nothing is
half-done. Once PostgreSQL is back, the same click or command works."""

from __future__ import annotations

from datetime import timedelta

from bot.app import BotProcess
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from sandbox.statuspage_fake import StatuspageFake
from tests.comms.outbound_helpers import declare_public, outbox_rows, preview, rows_when, settled
from tests.comms.test_maintenance_public import POST, schedule_public, start_in, window_events
from tests.comms.test_maintenance_public import preview as window_preview
from tests.flows import ephemeral_text, postgres_down

UNAVAILABLE = "PostgreSQL is unavailable"


async def refused(slack: SlackFake, user: SlackUser) -> str:
    text = await ephemeral_text(slack, user.user_id, UNAVAILABLE)
    assert "Traceback" not in text and "error id" not in text.lower()
    return text


async def statuspage_rows(bot: BotProcess) -> list[tuple[str, str]]:
    return [(r["action"], r["state"]) for r in await outbox_rows(bot) if r["target"] == "statuspage"]


async def test_a_status_page_confirm_with_postgres_down_queues_nothing_and_works_once_it_is_back(
    pbot: BotProcess,
    alice_p: SlackUser,
    slack: SlackFake,
    statuspage: StatuspageFake,
    postgres_url: str,
    database_url: str,
) -> None:
    notice = await declare_public(alice_p, slack, "Checkout is down")
    shown_preview = await preview(slack, notice)
    async with postgres_down(postgres_url, database_url):
        await alice_p.click(shown_preview, "Post to the status page")
        await refused(slack, alice_p)
    assert await statuspage_rows(pbot) == []
    assert statuspage.count("POST") == 0

    await alice_p.click(shown_preview, "Post to the status page")
    # Only the status page row: the declare's PagerDuty row may have been delivered just before the
    # outage cut its commit, and then waits out its lease before it is sent again (PagerDuty dedups it).
    await rows_when(
        pbot, lambda rows: [r["state"] for r in rows if r["target"] == "statuspage"] not in ([], ["pending"])
    )
    assert await statuspage_rows(pbot) == [("create", "delivered")]
    assert statuspage.count("POST", "/incidents") == 1


async def test_moving_or_starting_a_window_with_postgres_down_changes_nothing(
    pbot: BotProcess,
    alice_p: SlackUser,
    slack: SlackFake,
    statuspage: StatuspageFake,
    postgres_url: str,
    database_url: str,
) -> None:
    assert pbot.runtime is not None
    first_start = start_in(pbot, timedelta(days=2))
    announcement = await schedule_public(alice_p, slack, first_start, "--public")
    await alice_p.click(await window_preview(slack, announcement), POST)
    await settled(pbot, 1)
    events = await window_events(pbot)
    pending = await pbot.runtime.scheduler.pending("maintenance:1:")

    moved_to = first_start + timedelta(days=1)
    for line in (f"reschedule 1 {moved_to.isoformat()} 3h", "start 1", "complete 1"):
        before = len(slack.ephemeral_messages(alice_p.user_id))
        async with postgres_down(postgres_url, database_url):
            await alice_p.slash_command(line, command="/maintenance")
            await slack.wait_for(lambda n=before: len(slack.ephemeral_messages(alice_p.user_id)) > n or None)
            assert UNAVAILABLE in slack.ephemeral_messages(alice_p.user_id)[-1].text, line
    assert await window_events(pbot) == events
    assert await pbot.runtime.scheduler.pending("maintenance:1:") == pending
    assert await statuspage_rows(pbot) == [("create", "delivered")]
    assert statuspage.count("PATCH") == 0


async def test_history_with_postgres_down_says_so_in_one_line(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, postgres_url: str, database_url: str
) -> None:
    async with postgres_down(postgres_url, database_url):
        await alice_p.slash_command("history backend")
        text = await refused(slack, alice_p)
    assert "Try again" in text
