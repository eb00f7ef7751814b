"""What the `/incident` and `/maintenance` replies' templates receive: lists, timelines and short
answers. Every typed value (titles, purposes, update texts, service names) is escaped here; user
ids become mentions only when they look like Slack's (bot.comms.contexts.mention)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot import errors
from bot.catalog import Catalog
from bot.comms import escalation_events, guide_events, outbox_events
from bot.comms.contexts import mention, safe, when
from bot.comms.maintenance import PublicOffer
from bot.comms.public import PUBLIC_EVENT
from bot.comms.records import Incident, IncidentEvent, MaintenanceWindow, WindowEvent
from bot.slack.incident_public import OnCallAnswer, StatusPageOffer

CHANNEL_LIMIT = 40


def channel(channel_id: str) -> str:
    return safe(channel_id, CHANNEL_LIMIT)


def incident_list(incidents: Sequence[Incident], catalog: Catalog) -> dict[str, Any]:
    return {
        "incidents": [
            {
                "id": i.id,
                "severity": safe(i.severity, 10),
                "title": safe(i.title, 150),
                "lead": mention(i.lead),
                "since": when(i.declared_at, catalog.timezone),
            }
            for i in incidents
        ]
    }


def timeline(incident: Incident, events: Sequence[IncidentEvent], catalog: Catalog) -> dict[str, Any]:
    return {
        "id": incident.id,
        "severity": safe(incident.severity, 10),
        "state": safe(incident.state, 20),
        "events": [
            {
                "at": when(e.at, catalog.timezone),
                "kind": safe(e.kind, 40),
                "by_bot": e.actor == "bot",
                "actor": mention(e.actor),
                "text": safe(e.text, 300) if e.text else "",
                **_guide_entry(e),
                "escalated": _escalation_entry(e),
                "outbox": _outbox_entry(e),
            }
            for e in events
        ],
    }


def _guide_entry(event: IncidentEvent) -> dict[str, Any]:
    """A runbook guide's entry as data for the template to word (`guide_opened`, `guide_step`)."""
    entry = guide_events.read(event.text) if event.kind == guide_events.KIND else None
    return {
        "guide_opened": (
            {"guide": safe(entry.guide, 150), "section": safe(entry.section, 150)}
            if isinstance(entry, guide_events.Opened)
            else None
        ),
        "guide_step": safe(entry.command, 300) if isinstance(entry, guide_events.Step) else None,
    }


def _escalation_entry(event: IncidentEvent) -> dict[str, Any] | None:
    """An escalation's entry as data for the template to word: the level and its contacts."""
    entry = escalation_events.read(event.text) if event.kind == escalation_events.KIND else None
    if entry is None:
        return None
    return {"level": safe(entry.level, 40), "contacts": [safe(c, 200) for c in entry.contacts]}


def _outbox_entry(event: IncidentEvent) -> dict[str, str | list[str]] | None:
    """What the outbox worker reported (status page, PagerDuty), or a click on a status page preview, as
    data for the template to word. Only those entries are read as data: a person's update is text."""
    ours = event.actor == "bot" or event.kind == PUBLIC_EVENT
    entry = outbox_events.read(event.text) if ours else None
    if entry is None:
        return None
    return {
        "target": safe(entry.target, 20),
        "action": safe(entry.action, 20),
        "outcome": safe(entry.outcome, 20),
        "page": safe(entry.page, 60),
        "services": [safe(name, 80) for name in entry.services],
        "status": safe(entry.status, 40),
        "reason": safe(entry.reason, 300),
        "dedup_key": safe(entry.dedup_key, 80),
    }


def incident_reply(
    reply: str,
    incident_id: int,
    channel_id: str,
    *,
    due: datetime | None = None,
    timezone: str = "UTC",
    public: StatusPageOffer | None = None,
) -> dict[str, Any]:
    """A short answer about one incident: `reply` names which (declared, updated, resolved, snoozed, or
    status_page: only what happened to the status page); `public` is what happened to it, if anything."""
    return {
        "reply": reply,
        "id": incident_id,
        "channel": channel(channel_id),
        "due": when(due, timezone) if due else "",
        "public": (
            {"action": public.action, "refused": safe(public.refused, 500), "status": safe(public.status, 40)}
            if public
            else None
        ),
    }


def on_call(answer: OnCallAnswer) -> dict[str, Any]:
    """`/incident oncall`: who PagerDuty has on call, or what is missing (`problem`, see OnCallAnswer)."""
    return {
        "service": safe(answer.service, 60),
        "problem": answer.problem,
        "policy": safe(answer.policy, 40),
        "detail": safe(answer.detail, 300),
        "on_call": [
            {"level": o.level, "name": safe(o.name, 100), "schedule": safe(o.schedule, 100)} for o in answer.on_call
        ],
    }


def _status_page(event: WindowEvent | None) -> dict[str, str] | None:
    """A window's last status page step for the list (the template words it), or None when it has none."""
    if event is None:
        return None
    return {"action": safe(event.action, 20), "outcome": safe(event.outcome, 20), "detail": safe(event.detail, 300)}


def maintenance_list(
    windows: Sequence[MaintenanceWindow], timezone: str, events: Mapping[int, WindowEvent] | None = None
) -> dict[str, Any]:
    events = events or {}
    return {
        "windows": [
            {
                "id": w.id,
                "start": when(w.starts_at, timezone),
                "end": when(w.ends_at, timezone),
                "state": safe(w.state.replace("_", " "), 20),
                "services": [safe(name, 80) for name in w.services],
                "purpose": safe(w.purpose, 200),
                "created_by": mention(w.created_by),
                "status_page": _status_page(events.get(w.id)),
            }
            for w in windows
        ]
    }


def maintenance_reply(
    reply: str,
    window_id: int,
    channel_id: str = "",
    *,
    notice: timedelta | None = None,
    ahead: timedelta | None = None,
    offer: PublicOffer | None = None,
    say: Callable[[errors.Said], str] = lambda said: "",
) -> dict[str, Any]:
    """A short answer about one window: `reply` is scheduled, cancelled, started or completed; a notice
    shorter than `ahead` (the announcement the runbook asks for) is said in minutes; `offer` is what
    became of its status page side, its refusal said in mrkdwn by `say` (the phrase book's)."""
    short = notice is not None and ahead is not None and notice < ahead
    offer = offer or PublicOffer()
    return {
        "status_page": offer.state,
        "status_page_reason": say(offer.reason) if offer.reason is not None else "",
        "reply": reply,
        "id": window_id,
        "channel": channel(channel_id),
        "short_notice": short,
        "notice_minutes": max(0, round(notice.total_seconds() / 60)) if notice is not None else 0,
        "ahead_hours": ahead.total_seconds() / 3600 if ahead is not None else None,  # the template formats it
    }
