"""Issue 5: incidents declared, updated, reminded and resolved through signed Slack requests."""

from __future__ import annotations

from datetime import timedelta

from bot.app import BotProcess
from bot.ids import ActionId
from sandbox import blockkit
from sandbox.slack_client import SlackUser, find_buttons
from sandbox.slack_fake import SlackFake
from tests.comms.helpers import INCIDENTS, confirmed, declared_at, notices, shown
from tests.comms.outbound_helpers import timeline


async def test_quick_declare_posts_the_initial_notice_with_the_escalation_for_its_severity(
    alice: SlackUser, slack: SlackFake
) -> None:
    reply = await alice.slash_command('declare P1 "Checkout is down"', command="/incident")
    assert reply.status == 200
    notice = await slack.wait_for(lambda: (notices(slack, "Checkout is down") or [None])[0])
    text = shown(notice)
    assert "[P1] Incident #1" in text
    assert "On-call engineer (PagerDuty)" in text and "CTO after 30 minutes" in text
    assert "<@U0ALICE>" in text  # the declarer leads the quick form
    assert "every 15 minutes" in text
    await confirmed(slack, "U0ALICE", "Incident #1 declared")


async def test_declare_modal_submission_stores_the_incident_and_names_the_chosen_lead(
    alice: SlackUser, slack: SlackFake
) -> None:
    await alice.slash_command("declare", command="/incident")
    stored = await slack.wait_for(lambda: (slack.views_for("U0ALICE") or [None])[-1])
    assert blockkit.validate_view(stored.view) == []
    assert "P1 · Complete outage (respond within 15 minutes)" in str(stored.view)
    await alice.view_submission(
        stored.view,
        {
            "title": {"title": "Logins failing"},
            "severity": {"severity": {"type": "static_select", "selected_option": {"value": "P2"}}},
            "impact": {"impact": "Half of the users cannot log in"},
            "services": {"services": {"type": "multi_static_select", "selected_options": [{"value": "backend"}]}},
            "lead": {"lead": {"type": "users_select", "selected_user": "U0BOB"}},
        },
    )
    notice = await slack.wait_for(lambda: (notices(slack, "Logins failing") or [None])[0])
    text = shown(notice)
    assert "<@U0BOB>" in text and "backend" in text and "Team lead" in text
    assert "Half of the users cannot log in" in text
    await confirmed(slack, "U0ALICE", "Incident #1 declared")


async def test_channel_pings_and_mentions_in_a_title_are_escaped(alice: SlackUser, slack: SlackFake) -> None:
    await alice.slash_command('declare P3 "<!channel> db <@U123> is <http://x|slow> & sad"', command="/incident")
    notice = await slack.wait_for(lambda: (notices(slack, "db") or [None])[0])
    text = shown(notice)
    assert "&lt;!channel&gt;" in text and "&lt;@U123&gt;" in text and "&amp; sad" in text
    assert "<!channel>" not in text and "<@U123>" not in text and "<http://x|slow>" not in text
    await confirmed(slack, "U0ALICE", "Incident #1 declared")


async def test_p1_reminders_come_every_15_minutes_and_stop_after_resolve(
    bot: BotProcess, alice: SlackUser, slack: SlackFake
) -> None:
    assert bot.runtime is not None
    scheduler = bot.runtime.scheduler
    await alice.slash_command('declare P1 "Queue stuck"', command="/incident")
    notice = await slack.wait_for(lambda: (notices(slack, "Queue stuck") or [None])[0])
    await confirmed(slack, "U0ALICE", "Incident #1 declared")
    start = await declared_at(bot, 1)

    assert await scheduler.run_due(now=start + timedelta(minutes=14)) == []
    fired = await scheduler.run_due(now=start + timedelta(minutes=15))
    assert [j.kind for j in fired] == ["incident.reminder"]
    reminder = slack.thread_replies(INCIDENTS, notice.ts)[-1]
    assert "<@U0ALICE>" in shown(reminder) and "(posted late)" not in reminder.text
    assert {b.label for b in find_buttons(reminder)} == {"Post update", "Snooze"}
    # At 30 minutes the second reminder, and the catalog's escalation matrix (P1: L2 after 30 minutes).
    fired = await scheduler.run_due(now=start + timedelta(minutes=30))
    assert sorted(j.kind for j in fired) == ["incident.escalation", "incident.reminder"]
    assert len(slack.thread_replies(INCIDENTS, notice.ts)) == 3
    said = await timeline(alice, slack, 1)  # the entry is stored as data and worded by the template
    assert "*escalation* by the bot: L2: Senior SRE (sre-senior@company.com)" in said

    await alice.slash_command("resolve 1 a stuck consumer", command="/incident")
    await confirmed(slack, "U0ALICE", "Incident #1 resolved")
    assert await scheduler.run_due(now=start + timedelta(hours=3)) == []
    assert len(slack.thread_replies(INCIDENTS, notice.ts)) == 3


async def test_an_update_moves_the_next_reminder_a_full_cadence_later(
    bot: BotProcess, alice: SlackUser, slack: SlackFake
) -> None:
    assert bot.runtime is not None
    await alice.slash_command('declare P2 "Slow exports"', command="/incident")
    await confirmed(slack, "U0ALICE", "Incident #1 declared")
    await alice.slash_command("update #1 Found the slow query, adding an index", command="/incident")
    update = await slack.wait_for(lambda: (notices(slack, "Update on incident #1") or [None])[0])
    assert "adding an index" in shown(update)
    await confirmed(slack, "U0ALICE", "Update posted")
    pending = await bot.runtime.scheduler.pending("incident:1:reminder:")
    assert len(pending) == 1
    assert pending[0].run_at - bot.runtime.clock() > timedelta(minutes=29)


async def test_snooze_pushes_the_pending_reminder_back_by_the_cadence(
    bot: BotProcess, alice: SlackUser, slack: SlackFake
) -> None:
    assert bot.runtime is not None
    await alice.slash_command('declare P1 "Disk full"', command="/incident")
    notice = await slack.wait_for(lambda: (notices(slack, "Disk full") or [None])[0])
    await confirmed(slack, "U0ALICE", "Incident #1 declared")
    start = await declared_at(bot, 1)
    await bot.runtime.scheduler.run_due(now=start + timedelta(minutes=15))
    reminder = slack.thread_replies(INCIDENTS, notice.ts)[-1]
    before = (await bot.runtime.scheduler.pending("incident:1:reminder:"))[0].run_at
    assert before == start + timedelta(minutes=30)

    await alice.block_action(reminder, ActionId.INCIDENT_SNOOZE.value)
    snoozed = await slack.wait_for(lambda: [m for m in slack.ephemeral_messages("U0ALICE") if "Snoozed" in m.text])
    assert snoozed[0].thread_ts == notice.ts  # the answer is in the reminder's thread
    after = await bot.runtime.scheduler.pending("incident:1:reminder:")
    assert [j.run_at for j in after] == [before + timedelta(minutes=15)]


async def test_post_update_button_opens_the_update_modal_and_its_submission_posts_the_update(
    bot: BotProcess, alice: SlackUser, slack: SlackFake
) -> None:
    assert bot.runtime is not None
    await alice.slash_command('declare P1 "Payments failing"', command="/incident")
    notice = await slack.wait_for(lambda: (notices(slack, "Payments failing") or [None])[0])
    await confirmed(slack, "U0ALICE", "Incident #1 declared")
    await bot.runtime.scheduler.run_due(now=await declared_at(bot, 1) + timedelta(minutes=15))
    reminder = slack.thread_replies(INCIDENTS, notice.ts)[-1]
    await alice.block_action(reminder, ActionId.INCIDENT_POST_UPDATE.value)
    modal = await slack.wait_for(lambda: (slack.views_for("U0ALICE") or [None])[-1])
    assert blockkit.validate_view(modal.view) == []
    await alice.view_submission(modal.view, {"update": {"update": "Provider confirmed an outage"}})
    update = await slack.wait_for(lambda: (notices(slack, "Update on incident #1") or [None])[0])
    assert "Provider confirmed an outage" in shown(update)


async def test_resolution_shows_how_long_the_incident_lasted(
    bot: BotProcess, alice: SlackUser, slack: SlackFake
) -> None:
    assert bot.runtime is not None
    await alice.slash_command('declare P2 "Emails delayed"', command="/incident")
    await confirmed(slack, "U0ALICE", "Incident #1 declared")
    async with bot.runtime.db.acquire() as conn:  # as if declared 1 h 35 min ago
        await conn.execute("UPDATE incidents SET declared_at = declared_at - interval '95 minutes'")
    await alice.slash_command("resolve 1", command="/incident")
    modal = await slack.wait_for(lambda: (slack.views_for("U0ALICE") or [None])[-1])
    await alice.view_submission(
        modal.view,
        {
            "root_cause": {"root_cause": "Expired SMTP credentials"},
            "resolution": {"resolution": "Rotated the secret"},
        },
    )
    resolved = await slack.wait_for(lambda: (notices(slack, "[RESOLVED]") or [None])[0])
    text = shown(resolved)
    assert "1h 35m" in text and "Expired SMTP credentials" in text and "Rotated the secret" in text
    await alice.slash_command("timeline 1", command="/incident")
    timeline = await slack.wait_for(lambda: [m for m in slack.ephemeral_messages("U0ALICE") if "Timeline" in m.text])
    assert "declared" in shown(timeline[0]) and "resolved" in shown(timeline[0])


async def test_someone_neither_lead_nor_incident_role_is_refused_with_who_may(
    alice: SlackUser, carol: SlackUser, slack: SlackFake
) -> None:
    await alice.slash_command('declare P2 "Search is slow"', command="/incident")
    await confirmed(slack, "U0ALICE", "Incident #1 declared")
    await carol.slash_command("resolve 1 not my call", command="/incident")
    refusal = await slack.wait_for(lambda: slack.ephemeral_messages("U0CAROL"))
    assert "<@U0ALICE>" in refusal[0].text and "role `incident`" in refusal[0].text
    assert notices(slack, "[RESOLVED]") == []


async def test_bad_input_gets_one_ephemeral_line_and_the_usage(alice: SlackUser) -> None:
    for text in ("frobnicate", "update", "update abc hello", 'declare P9 "x"', "declare P1"):
        reply = await alice.slash_command(text, command="/incident")
        body = reply.json()
        assert reply.status == 200 and body["response_type"] == "ephemeral", text
        assert "/incident declare" in str(body["blocks"]), text
        assert "Traceback" not in reply.body


async def test_user_text_quoted_back_by_a_parse_error_neither_pings_nor_links(alice: SlackUser) -> None:
    # The phrase's field is the raw text; the Slack surface escapes it (logs read it plain).
    for text in ('declare "<!channel> P1" "x"', "update <!here>x hello"):
        reply = await alice.slash_command(text, command="/incident")
        shown = str(reply.json()["blocks"])
        assert "<!channel>" not in shown and "<!here>" not in shown, text
        assert "&lt;!" in shown, text
