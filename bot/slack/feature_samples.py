"""Hostile sample data for check_templates, for the templates of the feature surfaces (health report,
alerts, incident and maintenance replies, guides): every value would ping, link, break YAML or
overflow a block if its context builder did not escape it and the template did not quote it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.alerts.payload import Notification
from bot.alerts.routing import Suggestion as AlertSuggestion
from bot.health.model import CheckResult, Report, ServiceHealth, State, Suggestion
from bot.slack import alert_contexts, health_contexts
from bot.slack.health_contexts import Occasion
from bot.templating import PINGS

NASTY = " ".join(PINGS) + ' "quoted": {a: [b]} & more\n- not a list item\n<http://evil.example|click> `x`' + "x" * 3000
PROCEDURES = ("restart",)


def _report() -> Report:
    services = []
    for i, state in enumerate((State.FAIL, State.WARN, State.UNKNOWN, State.OK) * 40):
        name = f"{NASTY[:40]}-{i}"
        checks = (
            # A button's value is data for the click, never shown: it carries the catalog's plain names.
            CheckResult(name, NASTY[:60], state, NASTY, Suggestion("restart", f"backend-{i} 4")),
            CheckResult(name, "http", State.OK, NASTY),
        )
        services.append(ServiceHealth(name, checks))
    services.append(ServiceHealth(NASTY, ()))
    return Report(tuple(services), 12.25)


def health_samples() -> dict[str, Callable[[], Mapping[str, Any]]]:
    report = _report()
    daily = Occasion(scheduled_at=NASTY, late=True)
    asked = Occasion(asked_by=NASTY, service=NASTY)
    return {
        "health_report": lambda: health_contexts.summary(report, asked, PROCEDURES),
        "health_detail": lambda: health_contexts.details(report, daily, PROCEDURES)[-1],
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


def sample_contexts() -> dict[str, Callable[[], Mapping[str, Any]]]:
    return {**health_samples(), **alert_samples()}
