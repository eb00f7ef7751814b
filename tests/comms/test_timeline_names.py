"""A status page entry of the incident timeline keeps the services (or, for a preview's click, the
pages) as a list, and the template joins them: a team changes how, and an entry or a queued draft
written before (the names as one text) still reads as it did."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.catalog import Catalog
from bot.comms import outbox_events, samples
from bot.comms.records import IncidentEvent
from bot.settings import PROJECT_ROOT
from bot.slack import incident_contexts
from bot.templating import PINGS, Templates, check_templates

TEMPLATES = PROJECT_ROOT / "templates"
AT = datetime(2030, 1, 1, 9, 30, tzinfo=UTC)


def _timeline(templates: Templates, catalog: Catalog, *entries: str) -> str:
    incident = replace(samples.sample_incident(catalog), id=7, severity="P1", state="open")
    events = [IncidentEvent(AT, "status page", "bot", text) for text in entries]
    rendered = templates.render("incident_timeline", incident_contexts.timeline(incident, events, catalog))
    return json.dumps(rendered.blocks, ensure_ascii=False)


def _delivered(services: object) -> str:
    entry = json.loads(outbox_events.encode(outbox_events.Delivery("statuspage", "update", "delivered", "page01")))
    entry["outbox"]["services"] = services
    return json.dumps(entry)


def test_a_delivery_lists_its_services_and_an_entry_written_before_reads_as_it_did(catalog: Catalog) -> None:
    delivered = outbox_events.Delivery("statuspage", "update", "delivered", "page01", ("Mail Score API", "Helpdesk"))
    clicked = outbox_events.Delivery("statuspage", "create", "confirmed", services=("Mail Score", "Helpdesk"))

    shown = _timeline(
        Templates(TEMPLATES),
        catalog,
        outbox_events.encode(delivered),
        _delivered("Mail Score API, Helpdesk"),  # stored by the previous version: one text
        outbox_events.encode(clicked),
    )

    assert shown.count("status page page01 (Mail Score API, Helpdesk) updated") == 2
    assert "status page create confirmed: Mail Score; Helpdesk" in shown


def test_a_draft_queued_before_the_change_names_its_services_as_it_stored_them() -> None:
    assert outbox_events.names_of(["A", "B"]) == ("A", "B")
    assert outbox_events.names_of("A, B") == ("A, B",)  # a draft payload written before: shown as it is
    assert outbox_events.names_of(None) == ()


def test_a_team_joins_the_services_its_own_way_and_a_hostile_name_never_pings(catalog: Catalog, tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    timeline = folder / "incident_timeline.yml.j2"
    source = timeline.read_text(encoding="utf-8")
    assert 'o.services | join(", ")' in source
    timeline.write_text(source.replace('o.services | join(", ")', 'o.services | join(" + ")'), encoding="utf-8")
    assert check_templates(folder, {}) == []
    delivered = outbox_events.Delivery("statuspage", "update", "delivered", "page01", ("<!channel>", "Helpdesk"))

    shown = _timeline(Templates(folder), catalog, outbox_events.encode(delivered))

    assert "status page page01 (&lt;!channel&gt; + Helpdesk) updated" in shown
    assert not any(ping in shown for ping in PINGS)
