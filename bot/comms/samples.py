"""Hostile sample data for check_templates: every template is rendered with text that would
ping, link, break YAML or overflow a block if it were not escaped, quoted and clipped."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.catalog import Catalog
from bot.comms import contexts
from bot.comms.records import Incident, MaintenanceWindow

NASTY = '<!channel> <!here> <@U0SAMPLE> "quoted": {a: [b]} & more\n- not a list item\n' + "x" * 3000

_AT = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def sample_incident(catalog: Catalog) -> Incident:
    """A resolved incident whose every free-text field is hostile."""
    severity = next(iter(catalog.severities), "P1")
    return Incident(
        id=42,
        title=NASTY,
        severity=severity,
        impact=NASTY,
        services=("backend", "<!here>"),
        lead="U0LEAD",
        declared_by="U0DECLARER",
        state="open",
        channel_id="C0INCIDENTS",
        message_ts=None,
        root_cause=NASTY,
        resolution=NASTY,
        declared_at=_AT,
        resolved_at=_AT + timedelta(minutes=95),
    )


def _window(catalog: Catalog) -> MaintenanceWindow:
    return MaintenanceWindow(
        id=7,
        purpose=NASTY,
        services=("frontend", "<!channel>"),
        starts_at=_AT,
        ends_at=_AT + timedelta(hours=2),
        state="scheduled",
        channel_id="C0INCIDENTS",
        created_by="U0SAMPLE2",
        created_at=_AT,
        cancelled_by="U0SAMPLE3",
    )


def sample_contexts(catalog: Catalog) -> dict[str, Callable[[], Mapping[str, Any]]]:
    inc, window = sample_incident(catalog), _window(catalog)
    return {
        "incident_declared": lambda: contexts.incident(inc, catalog),
        "incident_update": lambda: {
            **contexts.incident_update(inc, catalog, text=NASTY, author="U0AUTHOR"),
            "next_update": "09:15",
        },
        "incident_reminder": lambda: {
            **contexts.incident(inc, catalog, late=True),
            "due": contexts.duration(timedelta(minutes=15)),
        },
        "incident_resolved": lambda: contexts.incident_resolved(
            replace(inc, state="resolved"), catalog, resolved_by="U0RESOLVER"
        ),
        "maintenance_scheduled": lambda: contexts.maintenance(window, catalog),
        "maintenance_reminder": lambda: contexts.maintenance(window, catalog, late=True),
        "maintenance_started": lambda: contexts.maintenance(window, catalog, late=True),
        "maintenance_completed": lambda: contexts.maintenance(window, catalog),
        "maintenance_cancelled": lambda: contexts.maintenance(window, catalog),
        "maintenance_rescheduled": lambda: contexts.maintenance(window, catalog),
    }
