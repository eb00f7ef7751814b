"""Which PagerDuty events an incident causes: a trigger when a paging severity is declared, a resolve with it.

The events are outbox rows (bot/comms/outbox.py) written with the incident change; the routing key
is named by its environment variable only, and read when the event is sent.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot import errors
from bot.catalog import Catalog
from bot.comms.outbox import PAGERDUTY, Outbound
from bot.comms.records import Incident

SOURCE = "runbook-bot"
SUMMARY_MAX_CHARS = 1024  # PagerDuty's limit for payload.summary


def trigger(catalog: Catalog, *, severity: str, services: Sequence[str], title: str, lead: str) -> Outbound | None:
    """The trigger event of a newly declared incident, or None when its severity does not page."""
    config = catalog.pagerduty
    if config is None or severity not in config.page:
        return None
    routing_key_env = config.routing_key_env_for(severity, services)
    if routing_key_env is None:
        return None
    payload: dict[str, object] = {
        # Stored in the outbox row as said at the time: PagerDuty shows it to whoever is paged.
        "summary": errors.plain(errors.Said("pagerduty_summary", severity=severity, title=title))[:SUMMARY_MAX_CHARS],
        "source": SOURCE,
        "severity": config.event_severity.get(severity, "critical"),
        "custom_details": {"services": list(services), "lead": lead},
    }
    if services:
        payload["component"] = ", ".join(services)
    return Outbound(PAGERDUTY, "trigger", {"routing_key_env": routing_key_env, "payload": payload})


def not_paged_reason(catalog: Catalog, *, severity: str, services: Sequence[str]) -> str | None:
    """Why a severity meant to page did not (no routing key for it), for the timeline."""
    config = catalog.pagerduty
    if config is None or severity not in config.page or config.routing_key_env_for(severity, services):
        return None
    return errors.plain(errors.Said("not_paged", severity=severity, services=list(services)))


def resolve(catalog: Catalog, incident: Incident) -> Outbound | None:
    """The resolve event of an incident whose declaration paged (same dedup key)."""
    found = trigger(catalog, severity=incident.severity, services=incident.services, title="", lead="")
    if found is None:
        return None
    return Outbound(PAGERDUTY, "resolve", {"routing_key_env": found.payload["routing_key_env"]})
