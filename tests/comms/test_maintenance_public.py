"""Issue 23: maintenance windows become Statuspage scheduled maintenances, over real HTTP against the fake.

Every step (the announcement, starting or completing early, cancelling) is previewed in the window's
thread, confirmed by someone `comms.incident.publish` allows, and delivered through the outbox once.
"""

from __future__ import annotations

import asyncio
import copy
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.app import BotProcess
from bot.targets.outbound import DeliveryError
from bot.targets.statuspage import Statuspage
from sandbox.pagerduty_fake import PagerDutyFake
from sandbox.slack_client import SlackUser, find_buttons
from sandbox.slack_fake import Message, SlackFake
from sandbox.statuspage_fake import StatuspageFake
from tests.comms.helpers import INCIDENTS, confirmed, notices, shown
from tests.comms.outbound_helpers import (
    STATUSPAGE_KEY,
    outbound_env,
    outbox_rows,
    rows_when,
    settled,
)
from tests.conftest import CATALOG_PATH, MakeBot, user_of

PREVIEW = "Status page preview for maintenance"
POST = "Post to the status page"


def start_in(bot: BotProcess, delta: timedelta) -> datetime:
    assert bot.runtime is not None
    return (bot.runtime.clock() + delta).replace(second=0, microsecond=0)


async def schedule_public(user: SlackUser, slack: SlackFake, start: datetime, *flags: str) -> Message:
    """Schedule a window of backend with the given flags; its announcement, once the command is done."""
    line = f"schedule {start.isoformat()} 2h Postgres 16 upgrade --services backend {' '.join(flags)}"
    await user.slash_command(line.strip(), command="/maintenance")
    await confirmed(slack, user.user_id, "announced")
    return (notices(slack, "Scheduled maintenance #"))[-1]


async def preview(slack: SlackFake, announcement: Message, count: int = 1) -> Message:
    """The `count`-th status page preview in the window's thread."""

    def found() -> Message | None:
        previews = [m for m in slack.thread_replies(INCIDENTS, announcement.ts) if PREVIEW in m.text]
        return previews[count - 1] if len(previews) >= count else None

    return await slack.wait_for(found)


async def window_events(bot: BotProcess) -> list[tuple[str, str, str, str]]:
    assert bot.runtime is not None
    rows = await bot.runtime.db.pool.fetch("SELECT kind, action, outcome, detail FROM maintenance_events ORDER BY seq")
    return [(r["kind"], r["action"], r["outcome"], r["detail"]) for r in rows]


async def listed(user: SlackUser, slack: SlackFake, needle: str) -> str:
    """`/maintenance list` typed again until its answer shows `needle` (the worker delivers meanwhile)."""

    def answers() -> list[Message]:
        return [m for m in slack.ephemeral_messages(user.user_id) if "Maintenance windows" in m.text]

    async with asyncio.timeout(15):
        while True:
            before = len(answers())
            await user.slash_command("list", command="/maintenance")
            answer = await slack.wait_for(lambda seen=before: answers()[seen] if len(answers()) > seen else None)
            if needle in shown(answer):
                return shown(answer)
            await asyncio.sleep(0.1)  # a poll with a deadline: the outbox gives no notice of a delivery


async def test_a_public_window_becomes_one_scheduled_maintenance_with_its_times_and_components(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, statuspage: StatuspageFake
) -> None:
    start = start_in(pbot, timedelta(days=3))
    announcement = await schedule_public(alice_p, slack, start, "--public")
    reply = await confirmed(slack, "U0ALICE", "Maintenance #1 announced")
    assert "A status page preview waits for a Confirm in the window's thread" in reply.text
    first = await preview(slack, announcement)
    text = shown(first)
    assert "Customers on page `mailscore01` would read" in text and "Scheduled maintenance of Mail Score API" in text
    assert "cmpbackend01 (under maintenance while it runs)" in text
    assert "Postgres 16 upgrade" not in text  # engineers' words stay in Slack
    assert statuspage.count("POST") == 0  # nothing public before the Confirm

    await alice_p.click(first, POST)
    (row,) = await settled(pbot, 1)
    assert (row["incident_id"], row["target"], row["action"], row["state"]) == (
        None,
        "statuspage",
        "create",
        "delivered",
    )
    (public,) = statuspage.maintenances()
    assert public["status"] == "scheduled" and public["impact"] == "maintenance"
    assert datetime.fromisoformat(public["scheduled_for"]) == start
    assert datetime.fromisoformat(public["scheduled_until"]) == start + timedelta(hours=2)
    assert public["component_ids"] == ["cmpbackend01"]
    assert public["scheduled_auto_in_progress"] and public["scheduled_auto_completed"]
    assert public["scheduled_remind_prior"]
    assert statuspage.components["mailscore01"]["cmpbackend01"]["status"] == "operational"  # not yet
    assert ("status page", "create", "delivered", "") in await window_events(pbot)
    updated = slack.thread_replies(INCIDENTS, announcement.ts)[0]
    assert find_buttons(updated) == [] and "Queued for the status page" in shown(updated)

    # Statuspage moves it along on its own clock: in progress at the start, completed at the end.
    statuspage.clock = lambda: start + timedelta(minutes=1)
    assert statuspage.maintenances()[0]["status"] == "in_progress"
    assert statuspage.components["mailscore01"]["cmpbackend01"]["status"] == "under_maintenance"
    statuspage.clock = lambda: start + timedelta(hours=2)
    assert statuspage.maintenances()[0]["status"] == "completed"
    assert statuspage.components["mailscore01"]["cmpbackend01"]["status"] == "operational"
    assert statuspage.count("POST") == 1 and statuspage.count("PATCH") == 0


async def test_confirm_is_checked_at_the_click_and_a_double_click_posts_once(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, statuspage: StatuspageFake
) -> None:
    announcement = await schedule_public(alice_p, slack, start_in(pbot, timedelta(days=2)), "--public")
    shown_preview = await preview(slack, announcement)
    async with user_of(pbot, slack, "U0CAROL") as carol:  # a viewer: may read, may not publish
        await carol.click(shown_preview, POST)
    denial = await slack.wait_for(
        lambda: next((m for m in slack.ephemeral_messages("U0CAROL") if "status page" in m.text), None)
    )
    assert "You may not post to the status page" in denial.text
    assert await outbox_rows(pbot) == []

    stale = copy.deepcopy(shown_preview)  # what a client that has not redrawn yet still shows
    await alice_p.click(shown_preview, POST)
    await alice_p.click(stale, POST)
    await slack.wait_for(
        lambda: next((m for m in slack.ephemeral_messages("U0ALICE") if "already confirmed" in m.text), None)
    )
    await settled(pbot, 1)
    assert statuspage.count("POST") == 1 and len(statuspage.maintenances()) == 1
    assert len(await outbox_rows(pbot)) == 1


async def test_a_rate_limit_and_an_outage_are_retried_and_the_list_says_pending_then_updated(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, statuspage: StatuspageFake
) -> None:
    statuspage.fail(429, retry_after="2")  # longer than the test's backoff: only Retry-After explains the wait
    announcement = await schedule_public(alice_p, slack, start_in(pbot, timedelta(days=2)), "--public")
    await alice_p.click(await preview(slack, announcement), POST)
    await rows_when(pbot, lambda rows: bool(rows) and bool(rows[0]["last_error"]))
    assert pbot.runtime is not None
    pending = await pbot.runtime.db.pool.fetchrow(
        "SELECT e.at, o.next_attempt_at FROM maintenance_events e JOIN outbox o ON o.maintenance_id = e.maintenance_id"
        " WHERE e.outcome = 'pending'"
    )
    assert pending is not None
    assert 1.5 <= (pending["next_attempt_at"] - pending["at"]).total_seconds() <= 2.5
    answer = await listed(alice_p, slack, "status page create pending, retrying: HTTP 429")
    assert "#1" in answer
    await listed(alice_p, slack, "status page updated (create)")
    assert statuspage.count("POST", status=429) == 1 and statuspage.count("POST", status=201) == 1

    statuspage.fail(503, times=3)  # Statuspage down for a while: the early completion waits and goes through
    await alice_p.slash_command("complete 1", command="/maintenance")
    reply = await confirmed(slack, "U0ALICE", "Maintenance #1 completed")
    assert "A status page preview waits" in reply.text
    await alice_p.click(await preview(slack, announcement, 2), POST)
    rows = await settled(pbot, 2)
    assert [(r["action"], r["state"]) for r in rows] == [("create", "delivered"), ("complete", "delivered")]
    assert statuspage.count("PATCH", status=503) == 3 and statuspage.count("PATCH", status=200) == 1
    (public,) = statuspage.maintenances()
    assert public["status"] == "completed"
    assert statuspage.components["mailscore01"]["cmpbackend01"]["status"] == "operational"
    events = [(action, outcome, detail[:8]) for kind, action, outcome, detail in await window_events(pbot)]
    assert [e for e in events if e[1] not in ("confirmed", "cancelled")] == [
        ("create", "pending", "HTTP 429"),
        ("create", "delivered", ""),
        ("complete", "pending", "HTTP 503"),  # once, not per attempt
        ("complete", "delivered", ""),
    ]


async def test_starting_early_then_cancel_refused_and_completing_reach_the_fake_once_each_in_order(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, statuspage: StatuspageFake
) -> None:
    announcement = await schedule_public(alice_p, slack, start_in(pbot, timedelta(hours=6)), "--public")
    await alice_p.click(await preview(slack, announcement), POST)
    await alice_p.slash_command("start 1", command="/maintenance")
    await confirmed(slack, "U0ALICE", "Maintenance #1 started early")
    assert len(notices(slack, "Maintenance #1 has started")) == 1
    await alice_p.click(await preview(slack, announcement, 2), POST)
    await settled(pbot, 2)
    (public,) = statuspage.maintenances()
    assert public["status"] == "in_progress"
    assert statuspage.components["mailscore01"]["cmpbackend01"]["status"] == "under_maintenance"
    await alice_p.slash_command("cancel 1", command="/maintenance")  # too late to cancel a running window
    await confirmed(slack, "U0ALICE", "only a scheduled window can be cancelled")

    await alice_p.slash_command("complete 1", command="/maintenance")
    await alice_p.click(await preview(slack, announcement, 3), POST)
    rows = await settled(pbot, 3)
    assert [r["action"] for r in rows] == ["create", "start", "complete"]
    assert public["status"] == "completed"
    assert statuspage.components["mailscore01"]["cmpbackend01"]["status"] == "operational"
    assert statuspage.count("POST") == 1 and statuspage.count("PATCH") == 2
    assert pbot.runtime is not None
    assert await pbot.runtime.scheduler.pending("maintenance:1:") == []  # no notice left to post


async def test_cancelling_a_public_window_marks_its_maintenance_completed_once_and_says_why(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, statuspage: StatuspageFake
) -> None:
    announcement = await schedule_public(alice_p, slack, start_in(pbot, timedelta(days=1)), "--public")
    await alice_p.click(await preview(slack, announcement), POST)
    await settled(pbot, 1)
    await alice_p.slash_command("cancel 1", command="/maintenance")
    reply = await confirmed(slack, "U0ALICE", "Maintenance #1 cancelled")
    assert "A status page preview waits" in reply.text
    second = await preview(slack, announcement, 2)
    stale = copy.deepcopy(second)  # what a client that has not redrawn yet still shows
    await alice_p.click(second, POST)
    await alice_p.click(stale, POST)  # a double click
    await confirmed(slack, "U0ALICE", "already confirmed")  # (and the second click's answer is done)
    await settled(pbot, 2)
    (public,) = statuspage.maintenances()
    assert public["status"] == "completed"
    assert "has been cancelled" in public["incident_updates"][0]["body"]
    assert statuspage.count("PATCH") == 1
    assert [r["action"] for r in await outbox_rows(pbot)] == ["create", "cancel"]


async def test_a_window_not_asked_for_stays_off_the_status_page_and_its_later_steps_too(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, statuspage: StatuspageFake
) -> None:
    announcement = await schedule_public(alice_p, slack, start_in(pbot, timedelta(days=1)))  # catalog default: off
    reply = await confirmed(slack, "U0ALICE", "Maintenance #1 announced")
    assert "status page" not in reply.text
    await alice_p.slash_command("cancel 1", command="/maintenance")
    await confirmed(slack, "U0ALICE", "Maintenance #1 cancelled")
    await alice_p.slash_command(
        f"schedule {start_in(pbot, timedelta(days=1)).isoformat()} 1h Cache flush --public", command="/maintenance"
    )
    second = await confirmed(slack, "U0ALICE", "Maintenance #2 announced")
    assert "Not offered for the status page: Maintenance #2 names no service with a status page" in second.text
    assert not [m for m in slack.thread_replies(INCIDENTS, announcement.ts) if PREVIEW in m.text]
    assert await outbox_rows(pbot) == [] and statuspage.count("POST") == 0


async def test_who_may_not_schedule_gets_neither_a_window_nor_a_preview(pbot: BotProcess, slack: SlackFake) -> None:
    assert pbot.runtime is not None
    async with user_of(pbot, slack, "U0CAROL") as carol:  # a viewer may not even schedule: refused, nothing made
        await carol.slash_command(
            f"schedule {start_in(pbot, timedelta(days=1)).isoformat()} 1h Upgrade --services backend --public",
            command="/maintenance",
        )
        await slack.wait_for(lambda: [m for m in slack.ephemeral_messages("U0CAROL") if "may not" in m.text])
    assert await pbot.runtime.db.pool.fetchval("SELECT count(*) FROM maintenance_windows") == 0
    assert await pbot.runtime.db.pool.fetchval("SELECT count(*) FROM public_drafts") == 0


async def test_the_fake_refuses_what_statuspage_refuses(statuspage: StatuspageFake) -> None:
    client = Statuspage(statuspage.url, api_key_env="SP_FAKE_TEST_KEY", timeout=5)
    os.environ["SP_FAKE_TEST_KEY"] = STATUSPAGE_KEY
    try:
        body = {
            "name": "Scheduled maintenance of Mail Score API",
            "status": "scheduled",
            "scheduled_for": "2027-01-01T10:00:00+00:00",
            "scheduled_until": "2027-01-01T09:00:00+00:00",
            "component_ids": ["cmpbackend01"],
        }
        with pytest.raises(DeliveryError) as refused:
            await client.create_incident("mailscore01", body)
        assert not refused.value.temporary
        assert "HTTP 422: Scheduled until must be after scheduled for" in refused.value.reason
        with pytest.raises(DeliveryError) as blank:
            await client.create_incident("mailscore01", {"name": "x", "status": "scheduled"})
        assert "Scheduled for can't be blank" in blank.value.reason
        with pytest.raises(DeliveryError) as foreign:
            await client.create_incident(
                "mailscore01", {**body, "scheduled_until": "2027-01-01T12:00:00Z", "component_ids": ["nope"]}
            )
        assert "component_ids must name components of this page" in foreign.value.reason
        created = await client.create_incident("mailscore01", {**body, "scheduled_until": "2027-01-01T12:00:00Z"})
        with pytest.raises(DeliveryError) as backwards:
            await client.update_incident("mailscore01", created, {"scheduled_until": "2027-01-01T08:00:00Z"})
        assert "Scheduled until must be after scheduled for" in backwards.value.reason
        assert statuspage.maintenances()[0]["status"] == "scheduled"
    finally:
        del os.environ["SP_FAKE_TEST_KEY"]
        await client.close()


def test_check_config_names_what_window_announcements_miss(tmp_path: Path) -> None:
    catalog = tmp_path / "chatops.yml"
    source = CATALOG_PATH.read_text(encoding="utf-8")
    catalog.write_text(
        source.replace("statuspage:\n  api_key_env:", "statuspage:\n  maintenance_default: true\n  api_key_env:"),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STATUSPAGE_", "PAGERDUTY_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check-config"],
        env={**env, "CHATOPS_CONFIG": str(catalog)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (
        "statuspage.maintenance_default: window announcements need environment variable STATUSPAGE_API_KEY"
        in result.stderr
    )
    assert "windows of service 'email-dashboard' cannot be announced: it has no page id" in result.stderr
    assert "service 'backend'" not in result.stderr


async def test_moving_a_public_window_patches_its_maintenance_once_and_its_notices_follow(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, statuspage: StatuspageFake
) -> None:
    assert pbot.runtime is not None
    scheduler = pbot.runtime.scheduler
    first_start = start_in(pbot, timedelta(days=2))
    announcement = await schedule_public(alice_p, slack, first_start, "--public")
    await alice_p.click(await preview(slack, announcement), POST)
    await settled(pbot, 1)
    moved_to = first_start + timedelta(days=1, hours=3)
    for count, start in enumerate((first_start + timedelta(hours=1), moved_to), start=2):  # twice: keys stay unique
        await alice_p.slash_command(f"reschedule 1 {start.isoformat()} 3h", command="/maintenance")
        await slack.wait_for(lambda n=count: len(notices(slack, "Maintenance #1 moved to")) == n - 1 or None)
        await alice_p.click(await preview(slack, announcement, count), POST)
    reply = await confirmed(slack, "U0ALICE", "Maintenance #1 moved")
    assert "A status page preview waits" in reply.text
    rows = await settled(pbot, 3)
    assert [(r["action"], r["state"]) for r in rows] == [
        ("create", "delivered"),
        ("reschedule", "delivered"),
        ("reschedule", "delivered"),
    ]
    (public,) = statuspage.maintenances()
    assert datetime.fromisoformat(public["scheduled_for"]) == moved_to
    assert datetime.fromisoformat(public["scheduled_until"]) == moved_to + timedelta(hours=3)
    assert public["status"] == "scheduled" and "has moved" in public["incident_updates"][0]["body"]
    assert statuspage.count("POST") == 1 and statuspage.count("PATCH") == 2
    pending = await scheduler.pending("maintenance:1:")
    assert sorted(j.run_at for j in pending) == [
        moved_to - timedelta(hours=24),
        moved_to,
        moved_to + timedelta(hours=3),
    ]
    assert await scheduler.run_due(now=first_start + timedelta(hours=1)) == []  # the old times fire nothing
    assert not notices(slack, "Maintenance #1 has started")


async def test_the_catalog_can_announce_every_window_on_the_status_page_by_default(
    make_bot: MakeBot,
    monkeypatch: pytest.MonkeyPatch,
    statuspage: StatuspageFake,
    pagerduty: PagerDutyFake,
    slack: SlackFake,
    tmp_path: Path,
) -> None:
    catalog = tmp_path / "chatops.yml"
    source = CATALOG_PATH.read_text(encoding="utf-8")
    catalog.write_text(
        source.replace("statuspage:\n", "statuspage:\n  maintenance_default: true\n", 1), encoding="utf-8"
    )
    bot = await make_bot(**outbound_env(monkeypatch, statuspage, pagerduty), CHATOPS_CONFIG=str(catalog))
    async with user_of(bot, slack, "U0ALICE") as alice:
        announcement = await schedule_public(alice, slack, start_in(bot, timedelta(days=1)))
        await preview(slack, announcement)
        await schedule_public(alice, slack, start_in(bot, timedelta(days=1)), "--no-public")
    reply = await confirmed(slack, "U0ALICE", "Maintenance #2 announced")
    assert "status page" not in reply.text
    assert len([m for m in slack.messages(INCIDENTS) if PREVIEW in m.text]) == 1


async def test_a_preview_left_waiting_while_its_window_was_cancelled_posts_nothing(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, statuspage: StatuspageFake
) -> None:
    announcement = await schedule_public(alice_p, slack, start_in(pbot, timedelta(days=1)), "--public")
    waiting = await preview(slack, announcement)
    await alice_p.slash_command("cancel 1", command="/maintenance")
    reply = await confirmed(slack, "U0ALICE", "Maintenance #1 cancelled")
    assert "status page" not in reply.text  # never confirmed: not public, so no cancellation to preview
    await alice_p.click(waiting, POST)
    await confirmed(slack, "U0ALICE", "That status page preview was already cancelled")
    assert await outbox_rows(pbot) == [] and statuspage.count("POST") == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("reschedule 1", "`reschedule` needs the window's id, a new start and a duration"),
        ("reschedule x 2099-01-01 10:00 1h", "x is not a maintenance id"),
        ("reschedule 1 2001-01-01T10:00+00:00 1h", "is in the past"),
        ("start", "Say which window: `/maintenance start <id>`"),
        ("complete 1 2", "Say which window: `/maintenance complete <id>`"),
        ("schedule 2099-01-01T10:00 1h Upgrade --public --no-public", "Say `--public` or `--no-public`, not both"),
    ],
)
async def test_bad_window_steps_are_refused_with_usage_before_anything_changes(
    alice: SlackUser, text: str, expected: str
) -> None:
    reply = await alice.slash_command(text, command="/maintenance")
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    assert expected in body["text"]
    assert "/maintenance reschedule &lt;id&gt; &lt;start&gt; &lt;duration&gt;" in str(body["blocks"])


async def test_who_may_schedule_but_not_publish_gets_the_window_and_is_told_why_there_is_no_preview(
    make_bot: MakeBot,
    monkeypatch: pytest.MonkeyPatch,
    statuspage: StatuspageFake,
    pagerduty: PagerDutyFake,
    slack: SlackFake,
    tmp_path: Path,
) -> None:
    catalog = tmp_path / "chatops.yml"
    source = CATALOG_PATH.read_text(encoding="utf-8")
    assert "    publish: [incident]" in source
    catalog.write_text(source.replace("    publish: [incident]", "    publish: [breakglass]"), encoding="utf-8")
    bot = await make_bot(**outbound_env(monkeypatch, statuspage, pagerduty), CHATOPS_CONFIG=str(catalog))
    async with user_of(bot, slack, "U0BOB") as bob:  # an operator: may schedule; publishing is breakglass only here
        await schedule_public(bob, slack, start_in(bot, timedelta(days=1)), "--public")
    reply = await confirmed(slack, "U0BOB", "Maintenance #1 announced")
    refusal = "Not offered for the status page: You may not post to the status page: it needs role `breakglass`"
    assert f"{refusal} (<@U0ALICE>)" in reply.text  # who may, mentioned
    assert [m for m in slack.messages(INCIDENTS) if PREVIEW in m.text] == []
    assert bot.runtime is not None
    assert await bot.runtime.db.pool.fetchval("SELECT count(*) FROM public_drafts") == 0
