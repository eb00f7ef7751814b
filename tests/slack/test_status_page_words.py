"""Issue 16: what `/incident` says of the status page and of who is on call arrives as data and is worded by
templates (incident_reply, incident_oncall), so a team rewords it without Python; hostile values ping nobody."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.catalog import Catalog
from bot.comms.samples import NASTY
from bot.settings import PROJECT_ROOT
from bot.slack import incident_contexts, incident_views
from bot.slack.incident_public import OnCallAnswer, StatusPageOffer
from bot.targets.pagerduty import OnCall
from bot.templating import PINGS, Templates
from sandbox.blockkit import validate_message_blocks, validate_view

TEMPLATES = PROJECT_ROOT / "templates"


def _said(templates: Templates, name: str, context: dict[str, object]) -> str:
    rendered = templates.render(name, context)
    assert validate_message_blocks(rendered.blocks) == []
    shown = rendered.text + json.dumps(rendered.blocks, ensure_ascii=False)
    assert not [p for p in PINGS if p in shown]
    return rendered.text


@pytest.mark.parametrize(
    ("reply", "offer", "words"),
    [
        ("declared", StatusPageOffer("create"), "declared; the notice is in <#C0INC>. A status page preview waits"),
        ("declared", StatusPageOffer("create", refused=NASTY), "Not offered for the status page: &lt;!channel&gt;"),
        ("resolved", StatusPageOffer("resolve"), "resolved; the notice is in <#C0INC>. A status page preview of the"),
        ("resolved", StatusPageOffer("resolve", refused=NASTY), "The status page still shows it: &lt;!channel&gt;"),
        ("status_page", StatusPageOffer("resolve"), "A status page preview of the resolution waits for a Confirm"),
        ("status_page", StatusPageOffer("update", status="monitoring"), "preview (monitoring) of #7 waits for a"),
        ("declared", None, "Incident #7 declared; the notice is in <#C0INC>."),
    ],
)
def test_what_became_of_the_status_page_is_worded_by_incident_reply(
    reply: str, offer: StatusPageOffer | None, words: str
) -> None:
    context = incident_contexts.incident_reply(reply, 7, "C0INC", public=offer)

    text = _said(Templates(TEMPLATES), "incident_reply", context)

    assert words in text
    if offer is None:
        assert "status page" not in text


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (OnCallAnswer("backend", "not_configured"), "names no REST API token"),
        (OnCallAnswer("backend", "no_policy"), "set `pagerduty.services.backend.escalation_policy`"),
        (OnCallAnswer("backend", "unavailable", policy="P1", detail=NASTY), "on call for backend: &lt;!channel&gt;"),
        (OnCallAnswer("backend", "nobody", policy=NASTY), "in escalation policy &lt;!channel&gt;"),
        (
            OnCallAnswer("backend", on_call=(OnCall(1, "Alice <!here>", "Primary"), OnCall(2, NASTY, ""))),
            "On call for backend now:\n• L1: Alice &lt;!here&gt; (Primary)\n• L2: &lt;!channel&gt;",
        ),
    ],
)
def test_the_on_call_answer_is_worded_by_incident_oncall(answer: OnCallAnswer, words: str) -> None:
    text = _said(Templates(TEMPLATES), "incident_oncall", incident_contexts.on_call(answer))

    assert words in text


def test_a_team_rewords_the_on_call_answer_by_editing_its_template_only(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    path = folder / "incident_oncall.yml.j2"
    path.write_text(path.read_text().replace("On call for {{ service }} now:", "Who to call about {{ service }}:"))
    answer = OnCallAnswer("backend", on_call=(OnCall(1, "Alice", "Primary"),))

    text = Templates(folder).render("incident_oncall", incident_contexts.on_call(answer)).text

    assert text == "Who to call about backend:\n• L1: Alice (Primary)"


def test_the_status_page_choice_starts_on_its_first_option_even_when_that_is_cut(catalog: Catalog) -> None:
    choice = {"block": "status_page", "options": {"default": "default", "post": "post", "skip": "skip"}}
    many = ", ".join(f"SEV{n}" for n in range(30))  # more severities by default than an option's 75 characters

    view = incident_views.declare_modal(
        Templates(TEMPLATES), catalog, user_id="U0ALICE", channel_id="C0OPS", status_page={**choice, "by_default": many}
    )

    element = view["blocks"][-1]["element"]
    assert element["initial_option"] == element["options"][0]
    assert len(element["initial_option"]["text"]["text"]) == 75 and element["initial_option"]["text"]["text"][-1] == "…"
    assert [o["value"] for o in element["options"]] == ["default", "post", "skip"]
    assert validate_view(view) == []
