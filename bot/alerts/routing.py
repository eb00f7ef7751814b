"""Alert group → the channel it goes to and the procedures worth a button.

Pure functions over the catalog: no I/O, so they are easy to test and cheap to call
in the request handler.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.alerts.payload import Alert, Notification
from bot.catalog import Catalog
from bot.catalog_alerts import AlertRule, AlertsConfig
from bot.runbooks.model import Procedure

MAX_SUGGESTIONS = 10  # per group: more buttons than this is noise, not help


@dataclass(frozen=True)
class Suggestion:
    procedure: str
    args: str

    @property
    def label(self) -> str:
        return f"{self.procedure} {self.args}".strip()


def _rule_for(config: AlertsConfig, labels: dict[str, str]) -> AlertRule | None:
    return next((rule for rule in config.rules if rule.matches(labels)), None)


def service_of(catalog: Catalog, labels: dict[str, str]) -> str | None:
    """The catalog service an alert is about, or None. A label value that is not a catalog
    service is ignored: it will be put into command text, so it must be a known name."""
    rule = _rule_for(catalog.alerts, labels)
    candidates = [labels.get(rule.service_label if rule else "service"), rule.service if rule else None]
    return next((c for c in candidates if c is not None and c in catalog.services), None)


def _suggestions_for(catalog: Catalog, alert: Alert, labels: dict[str, str]) -> list[Suggestion]:
    rule = _rule_for(catalog.alerts, labels)
    if rule is None:
        return []
    service = service_of(catalog, labels)
    found = []
    for text in rule.suggest:
        procedure, _, args = text.strip().partition(" ")
        if "{service}" in args and service is None:
            continue  # without a known service the command could not run; no button beats a broken one
        found.append(Suggestion(procedure, args.replace("{service}", service or "").strip()))
    return found


def allowed_in(catalog: Catalog, procedures: Mapping[str, Procedure], channel: str) -> frozenset[str]:
    """Procedures that policy would let run in `channel`: a button that can only be refused is noise."""
    return frozenset(
        name
        for name, p in procedures.items()
        if not p.channels or channel in {catalog.channels.resolve(c) for c in p.channels}
    )


def suggestions(catalog: Catalog, group: Notification, procedures: frozenset[str]) -> list[Suggestion]:
    """Distinct suggestions over the group's firing alerts, in rule order, for `procedures` only
    (those that exist and may run in the message's channel)."""
    seen: dict[Suggestion, None] = {}
    for alert in group.alerts:
        if alert.status != "firing":
            continue
        labels = {**group.common_labels, **alert.labels}
        for suggestion in _suggestions_for(catalog, alert, labels):
            if suggestion.procedure in procedures:
                seen.setdefault(suggestion, None)
    return list(seen)[:MAX_SUGGESTIONS]


def channels_of(catalog: Catalog, procedure: Procedure) -> tuple[str, ...]:
    """The channel ids a procedure may run in (empty = anywhere)."""
    return tuple(dict.fromkeys(catalog.channels.resolve(c) for c in procedure.channels))


def elsewhere(
    catalog: Catalog, procedures: Mapping[str, Procedure], group: Notification, channel: str
) -> list[tuple[Suggestion, tuple[str, ...]]]:
    """Suggestions the alert's channel may not run, each with the channels that may: the message says
    where to go rather than leaving the runbook's action out."""
    allowed = allowed_in(catalog, procedures, channel)
    return [
        (s, channels_of(catalog, procedures[s.procedure]))
        for s in suggestions(catalog, group, frozenset(procedures))
        if s.procedure not in allowed
    ]


def severity_of(catalog: Catalog, group: Notification) -> str | None:
    name = catalog.alerts.severity_label
    return group.common_labels.get(name) or next((a.labels[name] for a in group.alerts if name in a.labels), None)


def group_service(catalog: Catalog, group: Notification) -> str | None:
    service = service_of(catalog, dict(group.common_labels))
    if service is not None:
        return service
    return next((s for a in group.alerts if (s := service_of(catalog, {**group.common_labels, **a.labels}))), None)


def channel_for(catalog: Catalog, group: Notification) -> str:
    """The channel id for a group: first matching route, else `alerts.channel`, else channels.alerts."""
    config = catalog.alerts
    severity, service = severity_of(catalog, group), group_service(catalog, group)
    chosen = next((r.channel for r in config.routes if r.matches(severity, service)), config.channel)
    try:
        return catalog.channels.resolve(chosen)
    except KeyError:  # the catalog check refuses this at start-up; kept as a guard, never a lost alert
        return catalog.channels.alerts
