"""What the alert templates receive: one group in full, or several groups in a digest.

Everything that came from Alertmanager (annotations, labels, URLs) is escaped here: a
`<!channel>` in a description shows as text and pings nobody. URLs are only http(s), with the
characters that would end Slack's `<url|text>` syntax percent-encoded, so a template can make
them links. Buttons' ids and values are built from bot.ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.alerts.payload import Alert, Notification
from bot.alerts.routing import MAX_SUGGESTIONS, Suggestion
from bot.comms.contexts import safe
from bot.ids import BlockId, suggestion_action_id, suggestion_value

BUTTONS_PER_BLOCK = 25  # Slack's limit for an actions block
ALERTS_SHOWN = 5  # per group in a full message; the rest are counted
# Labels that are already shown elsewhere (header, severity) or only noise to a reader.
HIDDEN_LABELS = frozenset({"alertname", "severity", "prometheus", "job", "endpoint", "instance_id"})
NAME_LIMIT = 120
SUMMARY_LIMIT = 300
DESCRIPTION_LIMIT = 1500  # with five alert lines, still inside one 3000-character section
URL_LIMIT = 500
DIGEST_BLOCKS = 47  # of Slack's 50: the header and a line saying how many groups were left out


@dataclass(frozen=True)
class Entry:
    """One group as it should be shown now: its latest delivery and the buttons it earns."""

    group: Notification
    severity: str | None
    service: str | None
    suggestions: Sequence[Suggestion]
    # Suggestions this channel may not run, with the channels that may (shown as a pointer, not a button).
    elsewhere: Sequence[tuple[Suggestion, tuple[str, ...]]] = ()


def http_url(url: str) -> str | None:
    """The URL ready to sit inside Slack's `<url|text>`, or None when it is not http(s) (javascript:,
    slack://, garbage are not links)."""
    url = url.strip()
    if not url.isprintable() or any(c.isspace() for c in url):
        return None  # a URL has no spaces or control characters; Slack would cut the link there
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > URL_LIMIT:
        return None
    # `|` and `>` would end the url part of Slack's link syntax; percent-encoding keeps the URL valid.
    return url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")


def _links(alert: Alert, common: dict[str, str]) -> list[dict[str, str]]:
    runbook = alert.annotations.get("runbook_url") or common.get("runbook_url", "")
    found = [("source", http_url(alert.generator_url)), ("runbook", http_url(runbook))]
    return [{"kind": kind, "url": url} for kind, url in found if url]


def _labels(labels: dict[str, str], hidden: dict[str, str]) -> list[dict[str, str]]:
    # Shown inside inline code: a backtick would end the span.
    return [
        {"name": safe(k, NAME_LIMIT).replace("`", "'"), "value": safe(v, NAME_LIMIT).replace("`", "'")}
        for k, v in sorted(labels.items())
        if k not in HIDDEN_LABELS and hidden.get(k) != v
    ]


def _annotations(g: Notification) -> dict[str, str]:
    return g.common_annotations or (g.alerts[0].annotations if g.alerts else {})


def _alert(alert: Alert, g: Notification) -> dict[str, Any]:
    summary = alert.annotations.get("summary", "")
    return {
        "status": alert.status,
        # With common annotations the group's summary says it once; otherwise each alert says its own.
        "summary": safe(summary, SUMMARY_LIMIT) if summary and not g.common_annotations else "",
        "labels": _labels(alert.labels, g.common_labels),
        "links": _links(alert, g.common_annotations),
    }


def _buttons(entry: Entry, index: int) -> list[dict[str, Any]]:
    if not entry.group.firing or not entry.suggestions:
        return []  # a resolved group keeps no buttons: there is nothing left to fix
    made = [
        {
            "label": safe(s.label, 75),
            "action_id": suggestion_action_id(index * MAX_SUGGESTIONS + n),
            "value": suggestion_value(s.procedure, s.args),
        }
        for n, s in enumerate(entry.suggestions)
    ]
    return [
        # block_id must be unique per message; the click handler keys on action_id only.
        {"block_id": f"{BlockId.SUGGESTED_ACTIONS}:{index}:{n}", "buttons": made[i : i + BUTTONS_PER_BLOCK]}
        for n, i in enumerate(range(0, len(made), BUTTONS_PER_BLOCK))
    ]


def _elsewhere(entry: Entry) -> list[dict[str, Any]]:
    if not entry.group.firing:
        return []
    return [
        {"label": safe(s.label, 75).replace("`", "'"), "channels": [safe(c, 40) for c in channels]}
        for s, channels in entry.elsewhere
        if channels
    ]


def group(entry: Entry, index: int = 0) -> dict[str, Any]:
    """One group: what its header, facts, summary, buttons and pointers say."""
    g = entry.group
    annotations = _annotations(g)
    return {
        "status": g.status,
        "alertname": safe(g.alertname, NAME_LIMIT),
        "severity": safe(entry.severity, 40) if entry.severity else "",
        "service": safe(entry.service, NAME_LIMIT) if entry.service else "",
        "alert_count": len(g.alerts) + g.truncated_alerts,
        "summary": safe(annotations.get("summary", ""), SUMMARY_LIMIT),
        "description": safe(annotations.get("description", ""), DESCRIPTION_LIMIT),
        "buttons": _buttons(entry, index),
        "elsewhere": _elsewhere(entry),
    }


def full(entry: Entry) -> dict[str, Any]:
    """A message about one group: every shown alert with its labels and links, and the group's labels."""
    g = entry.group
    return {
        "group": group(entry),
        "alerts": [_alert(a, g) for a in g.alerts[:ALERTS_SHOWN]],
        "more": max(0, len(g.alerts) - ALERTS_SHOWN + g.truncated_alerts),
        "common_labels": _labels(g.common_labels, {}),
    }


def digest(entries: Sequence[Entry]) -> dict[str, Any]:
    """Several groups that arrived together, each with its links (once each), as many as fit in
    Slack's 50 blocks (a section, its button rows and a pointer each); `left_out` counts the rest."""
    shown: list[dict[str, Any]] = []
    blocks = 0
    for index, entry in enumerate(entries):
        g = entry.group
        links = {(x["kind"], x["url"]): x for a in g.alerts for x in _links(a, g.common_annotations)}
        context = {**group(entry, index), "links": list(links.values())}
        blocks += 1 + len(context["buttons"]) + bool(context["elsewhere"])
        if blocks > DIGEST_BLOCKS:
            break
        shown.append(context)
    return {
        "groups": shown,
        "count": len(entries),
        "firing": sum(1 for e in entries if e.group.firing),
        "left_out": len(entries) - len(shown),
    }
