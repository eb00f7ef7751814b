"""Hostile sample data for check_templates, for the templates of the feature surfaces (health report,
alerts, incident and maintenance replies, guides): every value would ping, link, break YAML or
overflow a block if its context builder did not escape it and the template did not quote it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import errors
from bot.alerts.payload import Notification
from bot.alerts.routing import Suggestion as AlertSuggestion
from bot.catalog import Catalog
from bot.comms import escalation_events, guide_events, outbox_events, samples
from bot.comms.contexts import safe
from bot.comms.maintenance import PublicOffer
from bot.comms.records import Incident, IncidentEvent, MaintenanceWindow, WindowEvent
from bot.guides.model import Escalation, Guide, GuideStep, Section
from bot.health.model import CheckResult, Report, ServiceHealth, State, Suggestion
from bot.runbooks.model import Procedure
from bot.slack import alert_contexts, guide_contexts, health_contexts, incident_contexts, incident_views, mrkdwn
from bot.slack.health_contexts import Occasion
from bot.slack.incident_public import OnCallAnswer, StatusPageOffer
from bot.targets.pagerduty import OnCall
from bot.templating import PINGS

NASTY = " ".join(PINGS) + ' "quoted": {a: [b]} & more\n- not a list item\n<http://evil.example|click> `x`' + "x" * 3000
PROCEDURES = ("restart",)


_NASTY_SAID = errors.Said("check_error", error=NASTY)


def _say(said: errors.Said) -> str:
    # check_phrases renders every phrase with hostile fields; here a value only has to be escaped text.
    return mrkdwn.field(errors.plain(said))


def _report() -> Report:
    services = []
    for i, state in enumerate((State.FAIL, State.WARN, State.UNKNOWN, State.OK) * 40):
        name = f"{NASTY[:40]}-{i}"
        checks = (
            # A button's value is data for the click, never shown: it carries the catalog's plain names.
            CheckResult(name, NASTY[:60], state, _NASTY_SAID, Suggestion("restart", f"backend-{i} 4"), metric=NASTY),
            CheckResult(name, "http", State.OK, _NASTY_SAID),
        )
        services.append(ServiceHealth(name, checks))
    services.append(ServiceHealth(NASTY, ()))
    return Report(tuple(services), 12.25)


def health_samples() -> dict[str, Callable[[], Mapping[str, Any]]]:
    report = _report()
    daily = Occasion(scheduled_at=NASTY, late=True)
    asked = Occasion(asked_by=NASTY, service=NASTY)
    return {
        "health_report": lambda: health_contexts.summary(report, asked, PROCEDURES, _say),
        "health_detail": lambda: health_contexts.details(report, daily, PROCEDURES, _say)[-1],
    }


def _alert(n: int, status: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": NASTY, "pod": f"{NASTY[:50]}-{n}", NASTY[:30]: NASTY, "`code`": "`"},
        "annotations": {
            "summary": NASTY,
            "description": NASTY,
            "runbook_url": "https://runbooks.example/a?b=1&c=<!here>|x",
        },
        "generatorURL": "javascript:alert('<!channel>')" if n % 2 else "http://prom.example/<@U0SAMPLE>|x>",
    }


def _group(key: str, status: str, *, common: bool) -> Notification:
    return Notification.model_validate(
        {
            "version": "4",
            "groupKey": key,
            "status": status,
            "truncatedAlerts": 7,
            "commonLabels": {"alertname": NASTY, "service": NASTY[:40], "team": NASTY},
            "commonAnnotations": {"summary": NASTY, "description": NASTY} if common else {},
            "alerts": [_alert(n, status) for n in range(8)],
        }
    )


def _entry(key: str, status: str, *, common: bool) -> alert_contexts.Entry:
    # Buttons' values are data for the click, never shown: the catalog's plain names (see _report).
    fixes = [AlertSuggestion("restart", f"backend-{n}") for n in range(10)]
    return alert_contexts.Entry(
        group=_group(key, status, common=common),
        severity=NASTY,
        service=NASTY,
        suggestions=fixes,
        elsewhere=[(AlertSuggestion("rollback", "backend"), ("C0OPS", NASTY[:20]))] * 3,
    )


def alert_samples() -> dict[str, Callable[[], Mapping[str, Any]]]:
    firing, resolved = _entry("a", "firing", common=False), _entry("b", "resolved", common=True)
    many = [_entry(f"g{n}", "firing", common=bool(n % 2)) for n in range(20)]
    return {
        "alert_group": lambda: alert_contexts.full(firing),
        "alert_digest": lambda: alert_contexts.digest([resolved, *many]),
    }


_AT = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def incident(catalog: Catalog, n: int) -> Incident:
    """The comms sample incident, open, numbered `n`, with this module's nastier text (links, backticks)."""
    return replace(
        samples.sample_incident(catalog),
        id=n,
        title=NASTY,
        severity=NASTY[:12],
        impact=NASTY,
        services=(NASTY, "<!here>"),
        lead=NASTY if n % 2 else "U0LEAD",
        root_cause=None,
        resolution=None,
        resolved_at=None,
    )


def _window(n: int) -> MaintenanceWindow:
    return MaintenanceWindow(
        id=n,
        purpose=NASTY,
        services=(NASTY, "<!channel>") * 10,
        starts_at=_AT,
        ends_at=_AT + timedelta(hours=2),
        state="in_progress",
        channel_id="C0INCIDENTS",
        created_by=NASTY,
        created_at=_AT,
        cancelled_by=None,
    )


_OUTCOMES = ("delivered", "pending", "refused", "orphaned", "unconfigured")


def _window_event(n: int) -> WindowEvent:
    return WindowEvent(_AT, "status page", "bot", NASTY, _OUTCOMES[n % len(_OUTCOMES)], NASTY)


def _status_page_choice() -> dict[str, Any]:
    """The declare modal's status page choice, with a catalog's severity names as long as they may be."""
    return {
        "block": "status_page",
        "options": {v: v for v in ("default", "post", "skip")},
        "by_default": [safe(NASTY, 10)] * 20,
    }


def comms_reply_samples(catalog: Catalog) -> dict[str, Callable[[], Mapping[str, Any]]]:
    incidents = [incident(catalog, n) for n in range(25)]
    events = [
        *(IncidentEvent(_AT, NASTY, NASTY if n % 3 else "bot", NASTY) for n in range(25)),
        IncidentEvent(_AT, guide_events.KIND, NASTY, guide_events.opened(NASTY, NASTY)),
        IncidentEvent(_AT, guide_events.KIND, NASTY, guide_events.step(NASTY)),
        IncidentEvent(_AT, escalation_events.KIND, "bot", escalation_events.encode(NASTY, [NASTY, NASTY])),
        *(
            IncidentEvent(
                _AT,
                NASTY,
                "bot",
                outbox_events.encode(
                    outbox_events.Delivery(target, action, outcome, NASTY, (NASTY, NASTY), *[NASTY] * 3)
                ),
            )
            for target, action in (("statuspage", "create"), ("statuspage", "resolve"), ("pagerduty", "trigger"))
            for outcome in (
                outbox_events.DELIVERED,
                outbox_events.REFUSED,
                outbox_events.RETRYING,
                outbox_events.CONFIRMED,
                outbox_events.CANCELLED,
            )
        ),
    ]
    zone = catalog.timezone
    return {
        "incident_list": lambda: incident_contexts.incident_list(incidents, catalog),
        "incident_timeline": lambda: incident_contexts.timeline(incidents[1], events, catalog),
        "incident_reply": lambda: incident_contexts.incident_reply(
            "declared", 42, NASTY, public=StatusPageOffer("create", refused=NASTY * 3)
        ),
        "incident_oncall": lambda: incident_contexts.on_call(
            OnCallAnswer(NASTY, policy=NASTY, on_call=tuple(OnCall(n, NASTY, NASTY) for n in range(1, 12)))
        ),
        "incident_declare_modal": lambda: incident_views.declare_context(catalog, NASTY, _status_page_choice()),
        "incident_update_modal": lambda: incident_views.update_context(
            incidents[1], {"block": "public_status", "statuses": [safe(NASTY, 70)] * 5}
        ),
        "incident_resolve_modal": lambda: incident_views.about(incidents[1]),
        "maintenance_list": lambda: incident_contexts.maintenance_list(
            [_window(n) for n in range(25)], zone, {n: _window_event(n) for n in range(25)}
        ),
        "maintenance_reply": lambda: incident_contexts.maintenance_reply(
            "scheduled",
            7,
            NASTY,
            notice=timedelta(minutes=90),
            ahead=timedelta(hours=24),
            offer=PublicOffer("refused", errors.Said("no_status_page_section")),
            say=lambda said: safe(NASTY * 3, 500),
        ),
    }


def _guide() -> Guide:
    """A guide as a careless or hostile runbook import could make it: every text field nasty, and
    more sections and steps than a message can hold."""
    title = NASTY[:150]
    steps = [
        GuideStep(title=NASTY[:200], phase=phase, procedure="restart", args=NASTY[:200] if n % 3 else "{service}")
        for phase in ("immediate", "diagnosis", "resolution")
        for n in range(15)
    ]
    section = Section(
        title=title, symptoms=[NASTY] * 20, steps=steps, escalation=Escalation(text=NASTY[:1000], after_minutes=15)
    )
    return Guide(
        name="hostile",  # the button's value carries it: a file name, checked by the loader's pattern
        title=title,
        source=NASTY,
        contacts=[NASTY] * 6,
        sections=[section] + [Section(title=f"{NASTY[:140]} {n}", symptoms=[NASTY] * 5) for n in range(60)],
    )


def guide_samples() -> dict[str, Callable[[], Mapping[str, Any]]]:
    guide = _guide()
    procedures: Mapping[str, Procedure] = {}  # which steps change things only picks Run or Preview
    return {
        "guide_menu": lambda: guide_contexts.menu([guide] * 60),
        "guide_sections": lambda: guide_contexts.sections(guide),
        "guide_section": lambda: guide_contexts.section(procedures, guide, 0, incident_id=12),
        "guide_started": lambda: guide_contexts.started(NASTY),
        "guide_reminder": lambda: guide_contexts.reminder(guide, 0),
    }


def sample_contexts(catalog: Catalog) -> dict[str, Callable[[], Mapping[str, Any]]]:
    return {**health_samples(), **alert_samples(), **comms_reply_samples(catalog), **guide_samples()}
