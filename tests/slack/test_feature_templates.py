"""Issue 16: the health report, alerts, incident and maintenance answers and the runbook guides are
templates; each renders valid Block Kit with hostile values, and a team can reword one without Python."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import errors, templating
from bot.alerts.payload import parse
from bot.alerts.routing import Suggestion
from bot.app import template_samples
from bot.catalog import Catalog
from bot.comms import escalation_events, guide_events
from bot.comms.records import IncidentEvent
from bot.health import model as health
from bot.health.model import CheckResult, Report, ServiceHealth, State
from bot.settings import PROJECT_ROOT
from bot.slack import alert_contexts, alert_views, feature_samples, health_views, incident_contexts, incident_views
from bot.slack.health_contexts import Occasion
from bot.templating import PINGS, Templates, check_templates
from sandbox import blockkit
from sandbox.blockkit import validate_message_blocks
from tests.alerts.conftest import group

TEMPLATES = PROJECT_ROOT / "templates"


def _report() -> Report:
    said = errors.Said("health_kubernetes", ready=0, desired=3, unavailable=3, restarts=0, stuck=False)
    failing = CheckResult("backend", "kubernetes", State.FAIL, said, health.Suggestion("restart", "backend"))
    return Report((ServiceHealth("backend", (failing,)), ServiceHealth("frontend", ())), 0.5)


def test_every_feature_template_renders_valid_block_kit_and_pings_nobody(catalog: Catalog) -> None:
    samples = feature_samples.sample_contexts(catalog)
    assert {
        "health_report",
        "alert_group",
        "incident_list",
        "incident_declare_modal",
        "maintenance_list",
        "guide_section",
    } <= set(samples)
    assert set(samples) <= set(template_samples(catalog)), "check-config renders every one of them"
    templates = Templates(TEMPLATES)
    for name, make in samples.items():
        if name.endswith(templating.MODAL_SUFFIX):
            view = templates.render_view(name, make(), callback_id=name, private_metadata="{}")
            blocks, shown = view["blocks"], json.dumps(view)
            assert view["type"] == "modal" and view["callback_id"] == name, name
        else:
            rendered = templates.render(name, make())
            blocks, shown = rendered.blocks, json.dumps([rendered.text, rendered.blocks])
        assert blockkit.validate_message_blocks(blocks) == [], name
        assert not [p for p in PINGS if p in shown], name
    assert check_templates(TEMPLATES, samples) == []


def test_a_team_rewords_the_health_report_by_editing_its_template_only(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    path = folder / "health_report.yml.j2"
    path.write_text(path.read_text().replace("*Suggested fixes*", "*What usually helps*"))
    (folder / "health_macros.j2").write_text(
        (folder / "health_macros.j2").read_text().replace("Daily health report", "Morning check")
    )
    before = health_views.render(
        Templates(TEMPLATES), _report(), Occasion(scheduled_at="09:00"), procedures={"restart"}
    )
    after = health_views.render(Templates(folder), _report(), Occasion(scheduled_at="09:00"), procedures={"restart"})
    assert "Suggested fixes" in json.dumps(before.summary[1])
    assert "What usually helps" in json.dumps(after.summary[1]) and "Suggested fixes" not in json.dumps(after.summary)
    assert after.summary[0].startswith("Morning check: fail")
    assert after.thread[0][0] == "Morning check: details 1/1"
    # The buttons are the same whatever the words: ids and values come from the code.
    buttons = [el for _, el in blockkit.iter_elements(after.summary[1]) if el.get("type") == "button"]
    assert [json.loads(b["value"]) for b in buttons] == [{"p": "restart", "a": "backend"}]


def test_who_asked_for_a_report_is_mentioned_only_when_it_is_a_slack_user_id() -> None:
    templates = Templates(TEMPLATES)
    asked = health_views.render(templates, _report(), Occasion(asked_by="U0ALICE"), procedures=())
    junk = health_views.render(templates, _report(), Occasion(asked_by="<!channel>"), procedures=())
    assert "asked by <@U0ALICE>" in json.dumps(asked.summary[1])
    assert "asked by &lt;!channel&gt;" in json.dumps(junk.summary[1])
    assert asked.summary[0] == "Health report: fail (1 failing)"


def test_a_reworded_template_longer_than_slack_allows_is_clipped_not_refused(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    path = folder / "incident_reply.yml.j2"
    path.write_text(path.read_text().replace("Update posted in", "Update posted " + "very " * 800 + "in"))
    rendered = Templates(folder).render("incident_reply", {"reply": "updated", "id": 1, "channel": "C0INC", "due": ""})
    text = rendered.blocks[0]["text"]["text"]
    assert len(text) == templating.TEXT_LIMITS["section"] and text.endswith("…")
    assert blockkit.validate_message_blocks(rendered.blocks) == []


def test_a_flood_digest_stays_within_50_blocks_and_counts_the_groups_it_leaves_out(catalog: Catalog) -> None:
    entries = [
        alert_contexts.Entry(
            parse(json.dumps(group(f"Alert{i}", key=f"k{i}")).encode()),
            "critical",
            "backend",
            [Suggestion("restart", f"backend-{n}") for n in range(10)],  # routing.MAX_SUGGESTIONS
            elsewhere=[(Suggestion("rollback", "backend"), ("C0OPS",))],
        )
        for i in range(20)
    ]
    text, blocks = alert_views.render(Templates(TEMPLATES), entries)
    assert len(blocks) <= 50
    assert blockkit.validate_message_blocks(blocks) == []
    assert "20 alert groups" in text
    shown = sum(1 for b in blocks if b["type"] == "section")
    assert shown < 20 and f"{20 - shown} more alert groups not shown" in json.dumps(blocks)


def test_templates_are_compiled_once_and_parsed_with_libyaml(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    templates = Templates(folder)
    context = {"reply": "updated", "id": 1, "channel": "C0INC", "due": ""}
    first = templates.render("incident_reply", context)
    # A file changed while the bot runs is not picked up unchecked: it is read (and checked) at the next start.
    (folder / "incident_reply.yml.j2").write_text("text: {% if %}\n")
    assert templates.render("incident_reply", context) == first
    if yaml.__with_libyaml__:
        assert issubclass(templating.YamlLoader, yaml.CSafeLoader)


def test_a_modal_template_cannot_reroute_its_submission(tmp_path: Path, catalog: Catalog) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    path = folder / "incident_update_modal.yml.j2"
    path.write_text(path.read_text().replace('"Post update"', '"Send it"') + 'callback_id: "elsewhere"\n')
    incident = feature_samples.incident(catalog, 5)
    view = incident_views.update_modal(Templates(folder), incident, channel_id="C0OPS")
    assert view["callback_id"] == "incident_update" and view["submit"]["text"] == "Send it"
    assert json.loads(view["private_metadata"]) == {"incident": 5, "channel": "C0OPS"}


hostile = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["<!channel>", "<!here>", "<@U0BOB>", "<#C0OPS>", "<http://evil|click>", "`", "\x00", "\u202e"]),
    st.text(alphabet="<>&!@#|`'\"{}[]:-\n *_~\x85\x7f", max_size=60),
)
PINGED = ("<!channel>", "<!here>", "<@U0BOB>", "<#C0OPS>", "<http://evil")


@settings(max_examples=60, deadline=None)
@given(summary=hostile, label=hostile, value=hostile, url=st.one_of(hostile, hostile.map("https://x.example/".__add__)))
def test_whatever_alertmanager_and_the_checks_send_no_message_pings_or_breaks(
    summary: str, label: str, value: str, url: str
) -> None:
    templates = Templates(TEMPLATES)
    payload = group("Hostile", summary=summary, description=value, generator_url=url, annotations={"runbook_url": url})
    payload["alerts"][0]["labels"][label or "x"] = value
    entry = alert_contexts.Entry(parse(json.dumps(payload).encode()), value, label, [Suggestion("restart", "backend")])
    messages = [alert_views.render(templates, [entry]), alert_views.render(templates, [entry, entry])]
    said = errors.Said("health_no_data", name=summary)
    check = CheckResult(label, value, State.FAIL, said, health.Suggestion("restart", "backend"), metric=value)
    report = Report((ServiceHealth(label, (check,)),), 1.0)
    rendered = health_views.render(templates, report, Occasion(asked_by=value, service=label), procedures={"restart"})
    messages += [rendered.summary, *rendered.thread]
    for text, blocks in messages:
        assert validate_message_blocks(blocks) == []
        shown = json.dumps(blocks, ensure_ascii=False) + text
        assert not [p for p in PINGED if p in shown]


def test_a_guides_timeline_entries_are_stored_as_data_and_worded_by_the_template(catalog: Catalog) -> None:
    incident = feature_samples.incident(catalog, 1)
    at = incident.declared_at
    events = [
        IncidentEvent(at, guide_events.KIND, "U0ALICE", guide_events.opened("Dashboard <!here>", "Slow")),
        IncidentEvent(at, guide_events.KIND, "U0ALICE", guide_events.step("top email-dashboard")),
        IncidentEvent(at, guide_events.KIND, "U0ALICE", "opened the runbook guide Old: Words"),  # written before
    ]

    shown = Templates(TEMPLATES).render("incident_timeline", incident_contexts.timeline(incident, events, catalog))

    lines = shown.blocks[1]["text"]["text"].split("\n")
    assert lines[0].endswith("*guide* by <@U0ALICE>: opened the runbook guide Dashboard &lt;!here&gt;: Slow")
    assert lines[1].endswith("*guide* by <@U0ALICE>: from the runbook guide: /runbook top email-dashboard")
    assert lines[2].endswith("*guide* by <@U0ALICE>: opened the runbook guide Old: Words")


def test_an_escalation_entry_is_stored_as_data_and_a_contact_named_like_a_ping_is_shown_as_text(
    catalog: Catalog,
) -> None:
    incident = feature_samples.incident(catalog, 1)
    at = incident.declared_at
    stored = escalation_events.encode("L2", ["<!channel> on-call", "db-team"])
    assert escalation_events.read(stored) == escalation_events.Escalated("L2", ("<!channel> on-call", "db-team"))
    events = [
        IncidentEvent(at, escalation_events.KIND, "bot", stored),
        IncidentEvent(at, escalation_events.KIND, "bot", "L1: ops"),  # written before, as words
    ]

    shown = Templates(TEMPLATES).render("incident_timeline", incident_contexts.timeline(incident, events, catalog))

    lines = shown.blocks[1]["text"]["text"].split("\n")
    assert lines[0].endswith("*escalation* by the bot: L2: &lt;!channel&gt; on-call, db-team")
    assert lines[1].endswith("*escalation* by the bot: L1: ops")


def test_a_check_named_like_a_ping_is_shown_as_text_in_the_report() -> None:
    said = errors.Said("health_no_data", name="<!channel> error rate")
    check = CheckResult("backend", "prometheus", State.UNKNOWN, said, metric="<!channel> error rate")
    report = Report((ServiceHealth("backend", (check,)),), 0.5)
    rendered = health_views.render(Templates(TEMPLATES), report, Occasion(asked_by="U0ALICE"), procedures=())
    shown = json.dumps([rendered.summary, rendered.thread])
    assert "<!channel>" not in shown
    assert "prometheus: &lt;!channel&gt; error rate: &lt;!channel&gt; error rate: no data" in shown
