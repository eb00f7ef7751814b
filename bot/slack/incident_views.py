"""The `/incident` modals and short replies (lists, timeline). Values typed by users are escaped here."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.views import View

from bot.catalog import Catalog
from bot.comms.contexts import safe
from bot.comms.incidents import NOTE_MAX_CHARS, TITLE_MAX_CHARS
from bot.comms.records import Incident
from bot.ids import CallbackId
from bot.slack import blocks as bk


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:75]}


# One element per input block, whose action_id is the block_id (action ids are unique per view).
def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": _text(label),
        "optional": optional,
        "element": {**element, "action_id": block_id},
    }


def _plain(multiline: bool = False, max_length: int = NOTE_MAX_CHARS) -> dict[str, Any]:
    return {"type": "plain_text_input", "multiline": multiline, "max_length": max_length}


def _modal(callback_id: str, title: str, submit: str, blocks: list[dict[str, Any]], meta: dict[str, Any]) -> Any:
    # Through slack_sdk's View so a malformed modal fails here, not at Slack.
    return View(
        type="modal",
        callback_id=callback_id,
        title=_text(title),
        submit=_text(submit),
        close=_text("Cancel"),
        blocks=blocks,
        private_metadata=json.dumps(meta),
    ).to_dict()


def declare_modal(catalog: Catalog, *, user_id: str, channel_id: str) -> Any:
    severities = [
        {"text": _text(f"{name} · {s.description} (respond within {s.response})"), "value": name}
        for name, s in catalog.severities.items()
    ]
    services = [{"text": _text(name), "value": name} for name in sorted(catalog.services)][:100]
    blocks = [
        _input("title", "Title", _plain(max_length=TITLE_MAX_CHARS)),
        _input("severity", "Severity", {"type": "static_select", "options": severities}),
        _input("impact", "Impact", _plain(multiline=True), optional=True),
        _input("lead", "Incident lead", {"type": "users_select", "initial_user": user_id}),
    ]
    if services:
        blocks.insert(
            3,
            _input(
                "services",
                "Affected services",
                {"type": "multi_static_select", "options": services},
                optional=True,
            ),
        )
    return _modal(CallbackId.INCIDENT_DECLARE.value, "Declare an incident", "Declare", blocks, {"channel": channel_id})


def update_modal(incident: Incident, *, channel_id: str) -> Any:
    intro = bk.section(f"*[{safe(incident.severity, 10)}] #{incident.id}* {safe(incident.title, 200)}").to_dict()
    return _modal(
        CallbackId.INCIDENT_UPDATE.value,
        f"Update incident #{incident.id}",
        "Post update",
        [intro, _input("update", "What changed, what is next", _plain(multiline=True))],
        {"incident": incident.id, "channel": channel_id},
    )


def resolve_modal(incident: Incident, *, channel_id: str) -> Any:
    intro = bk.section(f"*[{safe(incident.severity, 10)}] #{incident.id}* {safe(incident.title, 200)}").to_dict()
    return _modal(
        CallbackId.INCIDENT_RESOLVE.value,
        f"Resolve incident #{incident.id}",
        "Resolve",
        [
            intro,
            _input("root_cause", "Root cause", _plain(multiline=True)),
            _input("resolution", "Resolution (actions taken)", _plain(multiline=True)),
        ],
        {"incident": incident.id, "channel": channel_id},
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
