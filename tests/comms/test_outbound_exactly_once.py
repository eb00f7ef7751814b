"""Issue 23, "exactly once": a Statuspage create whose answer never reached us (Statuspage took it, then
the connection broke) is found by the key it carries and adopted, never posted a second time; the same
for a maintenance window's scheduled maintenance."""

from __future__ import annotations

from datetime import timedelta

from bot.app import BotProcess
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from sandbox.statuspage_fake import StatuspageFake
from tests.comms.helpers import confirmed
from tests.comms.outbound_helpers import declare_public, preview, settled
from tests.comms.test_maintenance_public import POST, schedule_public, start_in, window_events
from tests.comms.test_maintenance_public import preview as window_preview


async def test_a_create_statuspage_took_but_whose_answer_was_lost_is_adopted_not_posted_again(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, statuspage: StatuspageFake
) -> None:
    statuspage.drop_answers("POST", "/incidents")
    notice = await declare_public(alice_p, slack, "Checkout is down")
    await alice_p.click(await preview(slack, notice), "Post to the status page")
    rows = await settled(pbot, 2)
    assert [(r["target"], r["action"], r["state"], r["attempts"]) for r in rows if r["target"] == "statuspage"] == [
        ("statuspage", "create", "delivered", 2)
    ]
    (created,) = statuspage.incidents  # one public incident, though the create was attempted twice
    assert statuspage.count("POST", "/incidents") == 1
    assert statuspage.count("GET", "/mailscore01/incidents/unresolved", status=200) == 1
    assert pbot.runtime is not None
    stored = await pbot.runtime.db.pool.fetchval("SELECT statuspage_incident_id FROM statuspage_incidents")
    assert stored == created

    await alice_p.slash_command("update 1 --public identified Rolled back", command="/incident")
    await alice_p.click(await preview(slack, notice, 2), "Post to the status page")
    await alice_p.slash_command("resolve 1 A bad deploy", command="/incident")
    await alice_p.click(await preview(slack, notice, 3), "Post to the status page")
    await settled(pbot, 5)
    assert statuspage.count("PATCH", f"/incidents/{created}", status=200) == 2
    assert statuspage.incidents[created]["status"] == "resolved" and len(statuspage.incidents) == 1


async def test_a_window_create_statuspage_took_but_whose_answer_was_lost_is_adopted_not_scheduled_again(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, statuspage: StatuspageFake
) -> None:
    statuspage.drop_answers("POST", "/incidents")
    announcement = await schedule_public(alice_p, slack, start_in(pbot, timedelta(days=2)), "--public")
    await alice_p.click(await window_preview(slack, announcement), POST)
    (row,) = await settled(pbot, 1)
    assert (row["action"], row["state"], row["attempts"]) == ("create", "delivered", 2)
    (created,) = statuspage.incidents  # one scheduled maintenance, though the create was attempted twice
    assert statuspage.count("POST", "/incidents") == 1
    assert statuspage.count("GET", "/mailscore01/incidents/upcoming", status=200) == 1
    assert statuspage.incidents[created]["metadata"]["runbook_bot"]["outbox_key"]
    assert pbot.runtime is not None
    stored = await pbot.runtime.db.pool.fetchval("SELECT statuspage_incident_id FROM maintenance_windows")
    assert stored == created
    assert [e[:3] for e in await window_events(pbot) if e[2] not in ("confirmed", "cancelled")] == [
        ("status page", "create", "pending"),
        ("status page", "create", "delivered"),
    ]

    await alice_p.slash_command("cancel 1", command="/maintenance")  # a later step patches the adopted one
    await confirmed(slack, "U0ALICE", "Maintenance #1 cancelled")
    await alice_p.click(await window_preview(slack, announcement, 2), POST)
    await settled(pbot, 2)
    assert statuspage.count("PATCH", f"/incidents/{created}", status=200) == 1
    (public,) = statuspage.maintenances()
    assert public["id"] == created and public["status"] == "completed"
