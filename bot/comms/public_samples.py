"""Sample data for check_templates: the status page texts, their Slack preview, and escalation reminders.

Public texts take only catalog text (service names), so their samples are hostile to YAML rather
than to Slack; the preview is shown in Slack and gets text that would ping if it were not escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from bot.catalog import Catalog
from bot.comms import contexts, samples
from bot.comms.public import PublicDraft, preview_context
from bot.comms.records import Incident
from bot.comms.samples import NASTY

_WINDOW_STEPS = ("scheduled", "rescheduled", "started", "completed", "cancelled")
YAML_HOSTILE = 'Mail "Score": {a: [b]} & more\n- not a list item'


def _public(status: str) -> Mapping[str, Any]:
    return {
        "services": [YAML_HOSTILE] * 3,
        "plural": True,
        "component_status": "partial_outage",
        "status": status,
        "impact": "major",
    }


def _window(step: str) -> Callable[[], Mapping[str, Any]]:
    """The context of a window's public text (templates/public_maintenance_<step>.yml.j2)."""
    return lambda: {
        "services": [YAML_HOSTILE] * 3,
        "plural": step != "started",
        "start": YAML_HOSTILE,
        "end": YAML_HOSTILE,
        "duration": contexts.duration(timedelta(hours=2)),
    }


def _incident(catalog: Catalog) -> Incident:
    """The hostile sample incident, still open (a status page incident is posted while it is)."""
    return replace(samples.sample_incident(catalog), root_cause=None, resolution=None, resolved_at=None)


def public_sample_contexts(catalog: Catalog) -> dict[str, Callable[[], Mapping[str, Any]]]:
    draft = PublicDraft(
        id=3,
        incident_id=42,
        action="create",
        payload={
            "pages": [
                {
                    "page_id": NASTY,
                    "services": NASTY,
                    "name": NASTY,
                    "incident": {"status": "investigating", "body": NASTY, "components": {NASTY: "major_outage"}},
                }
            ]
            * 2  # an incident on two pages: one section each
        },
        requested_by="U0REQUESTER",
        state="pending",
        channel_id="C0INCIDENTS",
        message_ts=None,
    )
    window_draft = replace(
        draft,
        incident_id=None,
        maintenance_id=7,
        payload={
            "page_id": NASTY,
            "name": NASTY,
            "window": {"start": NASTY, "end": NASTY},
            "incident": {"status": "scheduled", "body": NASTY, "component_ids": [NASTY, NASTY]},
        },
    )
    return {
        "public_incident": lambda: _public("investigating"),
        "public_update": lambda: _public("identified"),
        "public_resolved": lambda: _public("resolved"),
        "incident_public_preview": lambda: preview_context(draft),
        "incident_escalation": lambda: {
            **contexts.incident(_incident(catalog), catalog, late=True),
            "level": contexts.safe(NASTY, 20),
            "contacts": [contexts.safe(NASTY, 200)] * 3,
            "open_for": contexts.duration(timedelta(minutes=30)),
        },
        **{f"public_maintenance_{step}": _window(step) for step in _WINDOW_STEPS},
        "maintenance_public_preview": lambda: preview_context(
            window_draft, decided={"confirmed": True, "by": contexts.safe(NASTY, 300)}
        ),
    }
