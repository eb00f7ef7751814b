"""Issue 23: incidents reach Statuspage and PagerDuty, over real HTTP against the fakes in sandbox/."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from bot.app import BotProcess
from sandbox import blockkit
from sandbox.pagerduty_fake import OnCallEntry, PagerDutyFake
from sandbox.slack_client import SlackUser, find_buttons
from sandbox.slack_fake import SlackFake
from sandbox.slack_fake_records import StoredView
from sandbox.statuspage_fake import StatuspageFake
from tests.comms.helpers import INCIDENTS, declared_at, notices, shown
from tests.comms.outbound_helpers import (
    DEFAULT_ROUTING_KEY,
    MAILSCORE_ROUTING_KEY,
    PREVIEW,
    STATUSPAGE_KEY,
    declare_public,
    outbox_rows,
    preview,
    rows_when,
    settled,
    timeline,
)
from tests.conftest import MakeBot, user_of


def second_view(slack: SlackFake, user: str) -> StoredView | None:
    views = slack.views_for(user)
    return views[1] if len(views) > 1 else None


async def test_declared_updated_resolved_reach_the_status_page_and_pagerduty_exactly_once_each(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, statuspage: StatuspageFake, pagerduty: PagerDutyFake
) -> None:
    notice = await declare_public(alice_p, slack, "Checkout is down")
    first = await preview(slack, notice)
    text = shown(first)
    assert "Customers on page `mailscore01` would read" in text and "An outage of Mail Score API" in text
    assert "Checkout is down" not in first.blocks[1]["text"]["text"]  # engineers' words stay in Slack
    assert {b.label for b in find_buttons(first)} == {"Post to the status page", "Don't post"}
    # Paging needs no preview: the P1 trigger goes out on its own, with the incident's dedup key.
    await pagerduty.wait_for(lambda: pagerduty.alerts.get("runbook-bot-incident-1"))
    assert statuspage.count("POST") == 0  # nothing public before the Confirm

    await alice_p.click(first, "Post to the status page")
    await statuspage.wait_for(lambda: statuspage.incidents)
    (public,) = statuspage.incidents.values()
    assert public["status"] == "investigating" and public["impact"] == "critical"
    assert statuspage.components["mailscore01"]["cmpbackend01"]["status"] == "major_outage"

    await alice_p.slash_command("update 1 --public identified Rolled back the deploy", command="/incident")
    said = "A status page preview (identified) of #1 waits for a Confirm in its thread."
    await slack.wait_for(lambda: next((m for m in slack.ephemeral_messages("U0ALICE") if m.text == said), None))
    await alice_p.click(await preview(slack, notice, 2), "Post to the status page")
    await statuspage.wait_for(lambda: public["status"] == "identified")

    await alice_p.slash_command("resolve 1 A bad deploy", command="/incident")
    await alice_p.click(await preview(slack, notice, 3), "Post to the status page")
    await statuspage.wait_for(lambda: public["status"] == "resolved")
    await pagerduty.wait_for(lambda: pagerduty.alerts["runbook-bot-incident-1"].status == "resolved")

    rows = await settled(pbot, 5)
    assert [(r["target"], r["action"], r["state"]) for r in rows] == [
        ("pagerduty", "trigger", "delivered"),
        ("statuspage", "create", "delivered"),
        ("statuspage", "update", "delivered"),
        ("pagerduty", "resolve", "delivered"),
        ("statuspage", "resolve", "delivered"),
    ]
    assert statuspage.count("POST", "/incidents") == 1
    assert statuspage.count("PATCH", "/incidents/") == 2
    assert pagerduty.alerts["runbook-bot-incident-1"].events == ["trigger", "resolve"]
    assert pagerduty.alerts["runbook-bot-incident-1"].routing_key == MAILSCORE_ROUTING_KEY  # the service's key
    assert statuspage.components["mailscore01"]["cmpbackend01"]["status"] == "operational"
    said = await timeline(alice_p, slack, 1)
    assert "*public* by <@U0ALICE>: status page create confirmed: An outage of Mail Score API" in said  # the click
    assert "status page mailscore01 (Mail Score API) updated: public incident created (investigating)" in said
    assert "PagerDuty triggered (dedup key runbook-bot-incident-1)" in said


async def test_an_outage_and_a_restart_lose_nothing_and_send_nothing_twice(
    make_bot: MakeBot,
    env: dict[str, str],
    pbot: BotProcess,
    alice_p: SlackUser,
    slack: SlackFake,
    statuspage: StatuspageFake,
    pagerduty: PagerDutyFake,
) -> None:
    statuspage.down = pagerduty.down = True
    notice = await declare_public(alice_p, slack, "Payments failing")
    await alice_p.click(await preview(slack, notice), "Post to the status page")
    # A retried create first looks for its incident (a GET), so both kinds of call count.
    await statuspage.wait_for(lambda: statuspage.count("POST", status=500) + statuspage.count("GET", status=500) >= 2)
    await pagerduty.wait_for(lambda: pagerduty.count("POST", status=500) >= 2)
    said = await timeline(alice_p, slack, 1)
    assert said.count("pending, retrying") == 2  # one line each, however many attempts the outage takes
    assert "PagerDuty trigger pending, retrying: HTTP 500: Internal Server Error" in said
    assert "status page mailscore01 (Mail Score API) create pending, retrying: HTTP 500: Internal Server Error" in said

    await pbot.stop()  # the bot goes away with both calls still owed
    statuspage.down = pagerduty.down = False
    restarted = await make_bot(**env)
    rows = await settled(restarted, 2)
    assert {(r["target"], r["state"]) for r in rows} == {("pagerduty", "delivered"), ("statuspage", "delivered")}
    assert statuspage.count("POST", status=201) == 1 and len(statuspage.incidents) == 1
    assert pagerduty.count("POST", status=202) == 1
    assert pagerduty.alerts["runbook-bot-incident-1"].events == ["trigger"]


async def test_rate_limits_are_retried_after_the_time_retry_after_asks_for(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, statuspage: StatuspageFake, pagerduty: PagerDutyFake
) -> None:
    pagerduty.fail(429, retry_after="30")  # longer than the test's backoff, so only Retry-After explains the wait
    await alice_p.slash_command('declare P2 "Slow logins" --no-public', command="/incident")
    await pagerduty.wait_for(lambda: pagerduty.count("POST", status=429) == 1)
    # The fake answers before the bot records the outcome: wait for the record.
    (row,) = await rows_when(pbot, lambda rows: bool(rows) and all(r["last_error"] for r in rows))
    assert row["state"] == "pending" and row["attempts"] == 1 and "HTTP 429" in row["last_error"]
    wait = (row["next_attempt_at"] - row["created_at"]).total_seconds()
    assert 29 <= wait <= 40
    assert pagerduty.count("POST") == 1  # not hammered meanwhile


async def test_a_refused_body_is_not_retried_and_the_timeline_says_what_and_why(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, statuspage: StatuspageFake
) -> None:
    statuspage.fail(422, error="Name is too long")
    notice = await declare_public(alice_p, slack, "Search broken")
    await alice_p.click(await preview(slack, notice), "Post to the status page")
    rows = await settled(pbot, 2)
    (create,) = [r for r in rows if r["target"] == "statuspage"]
    assert create["state"] == "refused" and create["attempts"] == 1
    assert statuspage.count("POST") == 1 and not statuspage.incidents
    said = await timeline(alice_p, slack, 1)
    assert "status page mailscore01 (Mail Score API) refused the create: HTTP 422: Name is too long" in said

    # Later public steps of that incident are refused at once, in words, without a preview or a call.
    await alice_p.slash_command("update 1 --public monitoring", command="/incident")
    await slack.wait_for(
        lambda: next((m for m in slack.ephemeral_messages("U0ALICE") if "every page refused" in m.text), None)
    )
    assert [m for m in slack.thread_replies(INCIDENTS, notice.ts) if PREVIEW in m.text][1:] == []
    assert statuspage.count("PATCH") == 0 and len(await outbox_rows(pbot)) == 2


async def test_confirm_is_checked_at_the_click_and_a_double_click_posts_once(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, statuspage: StatuspageFake
) -> None:
    notice = await declare_public(alice_p, slack, "Email delayed")
    shown_preview = await preview(slack, notice)
    async with user_of(pbot, slack, "U0CAROL") as carol:  # a viewer: may read, may not publish
        await carol.click(shown_preview, "Post to the status page")
    denial = await slack.wait_for(
        lambda: next((m for m in slack.ephemeral_messages("U0CAROL") if "status page" in m.text), None)
    )
    assert "You may not post to the status page" in denial.text
    assert [r for r in await outbox_rows(pbot) if r["target"] == "statuspage"] == []

    stale = copy.deepcopy(shown_preview)  # what a client that has not redrawn yet still shows
    await alice_p.click(shown_preview, "Post to the status page")
    await alice_p.click(stale, "Post to the status page")
    again = await slack.wait_for(
        lambda: next((m for m in slack.ephemeral_messages("U0ALICE") if "already confirmed" in m.text), None)
    )
    assert "already confirmed" in again.text
    await settled(pbot, 2)
    assert statuspage.count("POST") == 1
    updated = slack.thread_replies(INCIDENTS, notice.ts)[0]
    assert find_buttons(updated) == [] and "Queued for the status page" in shown(updated)


async def test_the_catalog_decides_the_default_and_the_quick_form_flags_override_it(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, statuspage: StatuspageFake, pagerduty: PagerDutyFake
) -> None:
    await alice_p.slash_command('declare P3 "Typo on the pricing page" --service frontend', command="/incident")
    answer = await slack.wait_for(
        lambda: next((m for m in slack.ephemeral_messages("U0ALICE") if "Incident #1 declared" in m.text), None)
    )
    assert "status page" not in answer.text  # P3 is not offered by default
    await alice_p.slash_command('declare P3 "Pricing page slow" --service frontend --public', command="/incident")
    second = await slack.wait_for(lambda: (notices(slack, "Pricing page slow") or [None])[0])
    assert "Degraded performance of Mail Score website" in shown(await preview(slack, second))
    await alice_p.slash_command('declare P1 "Everything is down" --public', command="/incident")
    answer = await slack.wait_for(
        lambda: next((m for m in slack.ephemeral_messages("U0ALICE") if "Incident #3 declared" in m.text), None)
    )
    assert "Not offered for the status page: Incident #3 names no service with a status page" in answer.text
    # P1 without a service pages through the default routing key; P3 pages nobody.
    rows = await settled(pbot, 1)
    assert [(r["incident_id"], r["action"]) for r in rows] == [(3, "trigger")]
    assert pagerduty.alerts["runbook-bot-incident-3"].routing_key == DEFAULT_ROUTING_KEY


async def test_oncall_names_who_pagerduty_has_on_call_for_the_service(
    alice_p: SlackUser, slack: SlackFake, pagerduty: PagerDutyFake
) -> None:
    pagerduty.on_call = [
        OnCallEntry("PMAILSC", 2, "Bob Lead", "Mail Score leads"),
        OnCallEntry("PMAILSC", 1, "Alice <Oncall>", "Mail Score primary"),
        OnCallEntry("POTHER", 1, "Someone Else"),
    ]
    await alice_p.slash_command("oncall backend", command="/incident")
    answer = await slack.wait_for(
        lambda: next((m for m in slack.ephemeral_messages("U0ALICE") if "On call for backend" in m.text), None)
    )
    assert answer.text.index("L1: Alice &lt;Oncall&gt;") < answer.text.index("L2: Bob Lead")
    assert "Someone Else" not in answer.text
    assert pagerduty.count("GET", "/oncalls", status=200) == 1
    await alice_p.slash_command("oncall frontend", command="/incident")
    await slack.wait_for(
        lambda: next(
            (m for m in slack.ephemeral_messages("U0ALICE") if "No escalation policy for frontend" in m.text), None
        )
    )


async def test_oncall_without_a_token_says_so(
    monkeypatch: pytest.MonkeyPatch, alice_p: SlackUser, slack: SlackFake, pagerduty: PagerDutyFake
) -> None:
    monkeypatch.delenv("PAGERDUTY_API_TOKEN")
    await alice_p.slash_command("oncall backend", command="/incident")
    answer = await slack.wait_for(
        lambda: next((m for m in slack.ephemeral_messages("U0ALICE") if "PagerDuty" in m.text), None)
    )
    assert "environment variable PAGERDUTY_API_TOKEN is not set" in answer.text
    assert pagerduty.count("GET") == 0


async def test_the_declare_modal_offers_the_status_page_and_its_choice_is_kept(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, statuspage: StatuspageFake
) -> None:
    await alice_p.slash_command("declare", command="/incident")
    stored = await slack.wait_for(lambda: (slack.views_for("U0ALICE") or [None])[-1])
    assert blockkit.validate_view(stored.view) == []
    assert "As the severity says (yes for P1, P2)" in str(stored.view)
    values = {
        "title": {"title": "Logins failing"},
        "severity": {"severity": {"type": "static_select", "selected_option": {"value": "P1"}}},
        "impact": {"impact": "Half of the users cannot log in"},
        "services": {"services": {"type": "multi_static_select", "selected_options": [{"value": "backend"}]}},
        "lead": {"lead": {"type": "users_select", "selected_user": "U0ALICE"}},
        "status_page": {"status_page": {"type": "static_select", "selected_option": {"value": "skip"}}},
    }
    await alice_p.view_submission(stored.view, values)
    await slack.wait_for(
        lambda: next((m for m in slack.ephemeral_messages("U0ALICE") if "Incident #1 declared" in m.text), None)
    )
    await alice_p.slash_command("declare", command="/incident")
    stored = await slack.wait_for(lambda: second_view(slack, "U0ALICE"))
    as_severity_says = {"status_page": {"type": "static_select", "selected_option": {"value": "default"}}}
    await alice_p.view_submission(
        stored.view, {**values, "title": {"title": "Logins still failing"}, "status_page": as_severity_says}
    )
    notice = await slack.wait_for(lambda: (notices(slack, "Logins still failing") or [None])[0])
    await preview(slack, notice)
    previews = [m for m in slack.messages(INCIDENTS) if PREVIEW in m.text]
    assert [m.thread_ts for m in previews] == [notice.ts]  # only the second (severity default) was previewed
    assert statuspage.count("POST") == 0


async def test_who_may_not_publish_gets_no_preview_and_is_told_why(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake
) -> None:
    async with user_of(pbot, slack, "U0CAROL") as carol:
        await carol.slash_command('declare P1 "Carol sees errors" --service backend', command="/incident")
        answer = await slack.wait_for(
            lambda: next((m for m in slack.ephemeral_messages("U0CAROL") if "declared" in m.text), None)
        )
        assert "Not offered for the status page: You may not post to the status page" in answer.text
        # She leads it, so she may update it; posting publicly is still not hers to do.
        await carol.slash_command("update 1 --public monitoring", command="/incident")
        await slack.wait_for(
            lambda: len([m for m in slack.ephemeral_messages("U0CAROL") if "You may not post" in m.text]) == 2
        )
    assert [m for m in slack.messages(INCIDENTS) if PREVIEW in m.text] == []


def test_check_config_names_the_key_variables_that_are_not_set() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check-config"],
        env={k: v for k, v in os.environ.items() if not k.startswith(("STATUSPAGE_", "PAGERDUTY_"))},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "statuspage.api_key_env: environment variable STATUSPAGE_API_KEY is not set" in result.stderr
    assert "pagerduty.services.backend.routing_key_env: environment variable PAGERDUTY_MAILSCORE_KEY" in result.stderr


async def test_the_update_modal_offers_a_public_status_once_the_incident_is_public(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, statuspage: StatuspageFake
) -> None:
    await alice_p.slash_command('declare P2 "Internal only" --service backend --no-public', command="/incident")
    await slack.wait_for(lambda: notices(slack, "Internal only"))
    await alice_p.slash_command("update 1", command="/incident")
    plain = await slack.wait_for(lambda: (slack.views_for("U0ALICE") or [None])[-1])
    assert "public_status" not in str(plain.view)

    notice = await declare_public(alice_p, slack, "Checkout is down")
    await alice_p.click(await preview(slack, notice), "Post to the status page")
    await statuspage.wait_for(lambda: statuspage.incidents)
    await alice_p.slash_command("update 2", command="/incident")
    stored = await slack.wait_for(lambda: second_view(slack, "U0ALICE"))
    assert blockkit.validate_view(stored.view) == [] and "Status page: new status" in str(stored.view)
    await alice_p.view_submission(
        stored.view,
        {
            "update": {"update": "Fix deployed, watching error rates"},
            "public_status": {"public_status": {"type": "static_select", "selected_option": {"value": "monitoring"}}},
        },
    )
    await alice_p.click(await preview(slack, notice, 2), "Post to the status page")
    (public,) = statuspage.incidents.values()
    await statuspage.wait_for(lambda: public["status"] == "monitoring")
    assert "A fix has been applied to Mail Score API" in public["incident_updates"][0]["body"]


async def test_a_key_statuspage_refuses_waits_and_goes_through_once_it_is_fixed(
    monkeypatch: pytest.MonkeyPatch,
    pbot: BotProcess,
    alice_p: SlackUser,
    slack: SlackFake,
    statuspage: StatuspageFake,
) -> None:
    monkeypatch.setenv("STATUSPAGE_API_KEY", "a-revoked-key")
    notice = await declare_public(alice_p, slack, "Login page blank")
    await alice_p.click(await preview(slack, notice), "Post to the status page")
    await statuspage.wait_for(lambda: statuspage.count("GET", "/unresolved", status=401) >= 1)  # retried, not dropped
    said = await timeline(alice_p, slack, 1)
    assert "status page mailscore01 (Mail Score API) create pending, retrying: HTTP 401: Could not authenticate" in said
    monkeypatch.setenv("STATUSPAGE_API_KEY", STATUSPAGE_KEY)  # read at each call: no restart needed
    await settled(pbot, 2)
    assert statuspage.count("POST", status=201) == 1 and len(statuspage.incidents) == 1


async def test_escalation_reminders_follow_the_matrix_and_stop_at_resolve(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake
) -> None:
    assert pbot.runtime is not None
    scheduler = pbot.runtime.scheduler
    await alice_p.slash_command('declare P1 "Queue stuck" --no-public', command="/incident")
    notice = await slack.wait_for(lambda: (notices(slack, "Queue stuck") or [None])[0])
    start = await declared_at(pbot, 1)

    await scheduler.run_due(now=start + timedelta(minutes=29))
    assert not [m for m in slack.thread_replies(INCIDENTS, notice.ts) if "escalate" in m.text]
    fired = await scheduler.run_due(now=start + timedelta(minutes=30))
    assert "incident.escalation" in [j.kind for j in fired]
    (l2,) = [m for m in slack.thread_replies(INCIDENTS, notice.ts) if "escalate" in m.text]
    assert "escalate to L2" in shown(l2) and "Senior SRE (sre-senior@company.com)" in shown(l2)
    assert "has been open 30m" in l2.text and "<@U0ALICE>" in l2.text

    await alice_p.slash_command("resolve 1 Queue drained", command="/incident")
    await slack.wait_for(lambda: notices(slack, "[RESOLVED]"))
    await scheduler.run_due(now=start + timedelta(hours=3))
    assert len([m for m in slack.thread_replies(INCIDENTS, notice.ts) if "escalate" in m.text]) == 1
    assert await scheduler.pending("incident:1:escalation:") == []
