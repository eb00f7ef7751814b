"""Hostile sample data for check_templates, for the templates of the feature surfaces (health report,
alerts, incident and maintenance replies, guides): every value would ping, link, break YAML or
overflow a block if its context builder did not escape it and the template did not quote it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.health.model import CheckResult, Report, ServiceHealth, State, Suggestion
from bot.slack import health_contexts
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


def sample_contexts() -> dict[str, Callable[[], Mapping[str, Any]]]:
    return {**health_samples()}
