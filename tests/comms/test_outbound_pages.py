"""Issue 23: an incident whose services are on two Statuspage pages has a public incident on each page:
one preview shows both, and the create, the updates and the resolve reach each page exactly once; a page
that refuses does not hold up the other, and the timeline names the page that refused and why."""

from __future__ import annotations

from bot.app import BotProcess
from sandbox.slack_client import SlackUser, find_buttons
from sandbox.slack_fake import SlackFake
from sandbox.statuspage_fake import StatuspageFake
from tests.comms.helpers import shown
from tests.comms.outbound_helpers import declare_public, preview, settled, timeline

BOTH = "backend,helpdesk-api"


def on_page(statuspage: StatuspageFake, page_id: str) -> dict[str, object]:
    (incident,) = [i for i in statuspage.incidents.values() if i["page_id"] == page_id]
    return incident


async def test_an_incident_on_two_pages_is_created_updated_and_resolved_on_each_once(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, statuspage: StatuspageFake
) -> None:
    notice = await declare_public(alice_p, slack, "Logins failing", services=BOTH)
    first = await preview(slack, notice)
    text = shown(first)
    assert "on 2 pages" in text
    assert "Customers on page `mailscore01` would read" in text and "An outage of Mail Score API" in text
    assert "Customers on page `helpdesk01` would read" in text and "An outage of Helpdesk API" in text
    assert len(find_buttons(first)) == 2  # one Confirm for both pages

    await alice_p.click(first, "Post to the status page")
    await settled(pbot, 3)
    mail, helpdesk = on_page(statuspage, "mailscore01"), on_page(statuspage, "helpdesk01")
    assert mail["name"] == "An outage of Mail Score API" and helpdesk["name"] == "An outage of Helpdesk API"
    assert statuspage.components["mailscore01"]["cmpbackend01"]["status"] == "major_outage"
    assert statuspage.components["helpdesk01"]["cmphelpdeskapi01"]["status"] == "major_outage"

    await alice_p.slash_command("update 1 --public identified Rolled back", command="/incident")
    await alice_p.click(await preview(slack, notice, 2), "Post to the status page")
    await alice_p.slash_command("resolve 1 A bad deploy", command="/incident")
    await alice_p.click(await preview(slack, notice, 3), "Post to the status page")
    rows = await settled(pbot, 8)

    assert sorted((r["action"], r["state"]) for r in rows if r["target"] == "statuspage") == [
        ("create", "delivered"),
        ("create", "delivered"),
        ("resolve", "delivered"),
        ("resolve", "delivered"),
        ("update", "delivered"),
        ("update", "delivered"),
    ]
    assert len(statuspage.incidents) == 2 and statuspage.count("POST", "/incidents") == 2
    for page_id, incident in (("mailscore01", mail), ("helpdesk01", helpdesk)):
        assert statuspage.count("PATCH", f"/pages/{page_id}/incidents/{incident['id']}", status=200) == 2
        assert incident["status"] == "resolved"
    assert statuspage.components["helpdesk01"]["cmphelpdeskapi01"]["status"] == "operational"
    assert pbot.runtime is not None
    stored = await pbot.runtime.db.pool.fetch(
        "SELECT page_id, statuspage_incident_id FROM statuspage_incidents ORDER BY page_id"
    )
    assert [tuple(r) for r in stored] == [("helpdesk01", helpdesk["id"]), ("mailscore01", mail["id"])]
    said = await timeline(alice_p, slack, 1)
    assert "status page helpdesk01 (Helpdesk API) updated: resolved, components back to operational" in said
    assert "status page mailscore01 (Mail Score API) updated: resolved, components back to operational" in said


async def test_a_page_that_refuses_does_not_hold_up_the_other_and_the_timeline_names_it(
    pbot: BotProcess, alice_p: SlackUser, slack: SlackFake, statuspage: StatuspageFake
) -> None:
    del statuspage.components["helpdesk01"]["cmphelpdeskapi01"]  # the component was removed from that page
    notice = await declare_public(alice_p, slack, "Logins failing", services=BOTH)
    await alice_p.click(await preview(slack, notice), "Post to the status page")
    rows = await settled(pbot, 3)
    assert sorted(r["state"] for r in rows if r["target"] == "statuspage") == ["delivered", "refused"]
    mail = on_page(statuspage, "mailscore01")
    assert [i["page_id"] for i in statuspage.incidents.values()] == ["mailscore01"]
    said = await timeline(alice_p, slack, 1)
    assert (
        "status page helpdesk01 (Helpdesk API) refused the create:"
        " HTTP 422: Component cmphelpdeskapi01 does not belong to this page"
    ) in said
    assert "status page mailscore01 (Mail Score API) updated: public incident created (investigating)" in said

    # Later steps go to the page that has the incident, and the preview says which that is.
    await alice_p.slash_command("update 1 --public monitoring", command="/incident")
    second = await preview(slack, notice, 2)
    assert "`mailscore01`" in shown(second) and "helpdesk01" not in shown(second)
    await alice_p.click(second, "Post to the status page")
    await settled(pbot, 4)
    assert mail["status"] == "monitoring"
    assert statuspage.count("PATCH") == 1 and statuspage.count("POST", "/pages/helpdesk01/") == 1
