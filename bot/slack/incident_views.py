"""The `/incident` modals (templates incident_*_modal) and reading what was submitted in them.
Values typed by users are escaped here; the lists and answers are in bot/slack/incident_contexts.py."""

from __future__ import annotations

import json
from typing import Any

from bot.catalog import Catalog
from bot.comms.contexts import USER_ID, safe
from bot.comms.incidents import NOTE_MAX_CHARS, TITLE_MAX_CHARS
from bot.comms.records import Incident
from bot.ids import CallbackId
from bot.templating import Templates

# The inputs' block ids (each input's action_id is its block_id): the templates place them, the
# submission handlers read them.
INPUTS = ("title", "severity", "impact", "services", "lead", "update", "root_cause", "resolution")
IDS = {name: name for name in INPUTS}


def declare_context(catalog: Catalog, user_id: str, status_page: dict[str, Any] | None = None) -> dict[str, Any]:
    """`status_page`: the status page choice (bot/slack/incident_public.py), when the catalog has one."""
    return {
        "status_page": status_page,
        "ids": IDS,
        "title_max": TITLE_MAX_CHARS,
        "note_max": NOTE_MAX_CHARS,
        "user": user_id if USER_ID.match(user_id) else "",
        "severities": [
            {
                "value": name,
                "name": safe(name, 10),
                "description": safe(s.description, 60),
                "response": safe(s.response, 30),
            }
            for name, s in catalog.severities.items()
        ],
        "services": [{"value": name, "name": safe(name, 75)} for name in sorted(catalog.services)][:100],
    }


def declare_modal(
    templates: Templates,
    catalog: Catalog,
    *,
    user_id: str,
    channel_id: str,
    status_page: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return templates.render_view(
        "incident_declare_modal",
        declare_context(catalog, user_id, status_page),
        callback_id=CallbackId.INCIDENT_DECLARE.value,
        private_metadata=json.dumps({"channel": channel_id}),
    )


def about(incident: Incident) -> dict[str, Any]:
    return {
        "ids": IDS,
        "note_max": NOTE_MAX_CHARS,
        "id": incident.id,
        "severity": safe(incident.severity, 10),
        "title": safe(incident.title, 200),
    }


def update_context(incident: Incident, public_status: dict[str, Any] | None = None) -> dict[str, Any]:
    """`public_status`: the new public status choice (bot/slack/incident_public.py), when the incident is public."""
    return {**about(incident), "public_status": public_status}


def update_modal(
    templates: Templates, incident: Incident, *, channel_id: str, public_status: dict[str, Any] | None = None
) -> dict[str, Any]:
    return templates.render_view(
        "incident_update_modal",
        update_context(incident, public_status),
        callback_id=CallbackId.INCIDENT_UPDATE.value,
        private_metadata=json.dumps({"incident": incident.id, "channel": channel_id}),
    )


def resolve_modal(templates: Templates, incident: Incident, *, channel_id: str) -> dict[str, Any]:
    return templates.render_view(
        "incident_resolve_modal",
        about(incident),
        callback_id=CallbackId.INCIDENT_RESOLVE.value,
        private_metadata=json.dumps({"incident": incident.id, "channel": channel_id}),
    )


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def submitted(view: dict[str, Any], block_id: str) -> Any:
    """The submitted value of one input: text, selected option value, users or options list."""
    state = ((view.get("state") or {}).get("values") or {}).get(block_id, {}).get(block_id) or {}
    if "selected_options" in state:
        return [str(o.get("value", "")) for o in state.get("selected_options") or []]
    if "selected_option" in state:
        return str((state.get("selected_option") or {}).get("value", ""))
    if "selected_user" in state:
        return str(state.get("selected_user") or "")
    return str(state.get("value") or "")
