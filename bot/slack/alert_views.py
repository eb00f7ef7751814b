"""Block Kit for alert groups: one group in full, or several groups summarised in one message.

Everything that came from Alertmanager (annotations, labels, URLs) is escaped: a
`<!channel>` in a description shows as text and pings nobody. Links are only
http(s) and are built by us as `<url|text>` with the url escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from slack_sdk.models.blocks import Block

from bot.alerts.payload import Alert, Notification
from bot.alerts.routing import MAX_SUGGESTIONS, Suggestion
from bot.ids import BlockId, suggestion_action_id, suggestion_value
from bot.slack import blocks
from bot.text import escape

BUTTONS_PER_BLOCK = 25  # Slack's limit for an actions block
ALERTS_SHOWN = 5  # per group in a full message; the rest are counted
# Labels that are already shown elsewhere (header, severity) or only noise to a reader.
HIDDEN_LABELS = frozenset({"alertname", "severity", "prometheus", "job", "endpoint", "instance_id"})
ICON = {"firing": "🔥", "resolved": "✅"}


@dataclass(frozen=True)
class Entry:
    """One group as it should be shown now: its latest delivery and the buttons it earns."""

    group: Notification
    severity: str | None
    service: str | None
    suggestions: Sequence[Suggestion]
    # Suggestions this channel may not run, with the channels that may (shown as a pointer, not a button).
    elsewhere: Sequence[tuple[Suggestion, tuple[str, ...]]] = ()


def link(url: str, text: str) -> str | None:
    """`<url|text>` for an http(s) URL, else None (javascript:, slack://, garbage are not links)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    # `|` and `>` would end the url part of Slack's link syntax; percent-encoding keeps the URL valid.
    safe = url.strip().replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    return f"<{safe}|{escape(text)}>"


def _title(entry: Entry) -> str:
    g = entry.group
    return f"{ICON[g.status]} [{g.status.upper()}] {g.alertname}"


def _summary(g: Notification) -> str:
    ann = g.common_annotations or (g.alerts[0].annotations if g.alerts else {})
    summary, description = ann.get("summary", ""), ann.get("description", "")
    lines = [f"*{escape(summary)}*" if summary else "", escape(description)]
    return "\n".join(line for line in lines if line)


def _facts(entry: Entry) -> str:
    g = entry.group
    facts = [f"*Severity:* {escape(entry.severity or 'unknown')}"]
    if entry.service:
        facts.append(f"*Service:* {escape(entry.service)}")
    facts.append(f"*Alerts:* {len(g.alerts) + g.truncated_alerts}")
    return " · ".join(facts)


def _links(alert: Alert, common: dict[str, str]) -> list[str]:
    runbook = alert.annotations.get("runbook_url") or common.get("runbook_url", "")
    found = [link(alert.generator_url, "source"), link(runbook, "runbook")]
    return [f for f in found if f]


def _alert_line(alert: Alert, g: Notification) -> str:
    labels = ", ".join(
        f"{escape(k)}={escape(v)}"
        for k, v in sorted(alert.labels.items())
        if k not in HIDDEN_LABELS and g.common_labels.get(k) != v
    )
    summary = alert.annotations.get("summary", "")
    parts = [ICON[alert.status], escape(summary) if summary and not g.common_annotations else ""]
    code = "`" + labels.replace("`", "'") + "`" if labels else ""
    parts += [code, " · ".join(_links(alert, g.common_annotations))]
    return " ".join(p for p in parts if p)


def _buttons(entry: Entry, index: int) -> list[Block]:
    if not entry.group.firing or not entry.suggestions:
        return []  # a resolved group keeps no buttons: there is nothing left to fix
    buttons = [
        blocks.button(s.label, suggestion_action_id(index * MAX_SUGGESTIONS + n), suggestion_value(s.procedure, s.args))
        for n, s in enumerate(entry.suggestions)
    ]
    return [
        # block_id must be unique per message; the click handler keys on action_id only.
        blocks.actions(f"{BlockId.SUGGESTED_ACTIONS}:{index}:{n}", buttons[i : i + BUTTONS_PER_BLOCK])
        for n, i in enumerate(range(0, len(buttons), BUTTONS_PER_BLOCK))
    ]


def _elsewhere(entry: Entry) -> list[Block]:
    if not entry.group.firing or not entry.elsewhere:
        return []
    where = [
        f"`{escape(s.label)}` in {', '.join(f'<#{c}>' for c in channels)}"
        for s, channels in entry.elsewhere
        if channels
    ]
    return [blocks.context("Run elsewhere: " + "; ".join(where))] if where else []


def _common_labels(g: Notification) -> str:
    shown = {k: v for k, v in sorted(g.common_labels.items()) if k not in HIDDEN_LABELS}
    return ", ".join(f"{escape(k)}={escape(v)}" for k, v in shown.items())


def full(entry: Entry) -> list[Block]:
    g = entry.group
    out: list[Block] = [blocks.header(_title(entry)), blocks.section(_facts(entry))]
    summary = _summary(g)
    if summary:
        out.append(blocks.section(summary))
    common = _common_labels(g)
    lines = [_alert_line(a, g) for a in g.alerts[:ALERTS_SHOWN]]
    more = len(g.alerts) - ALERTS_SHOWN + g.truncated_alerts
    if more > 0:
        lines.append(f"… and {more} more")
    out.append(blocks.section("\n".join(lines) or "(no alerts in this delivery)"))
    out += _buttons(entry, 0)
    out += _elsewhere(entry)
    if common:
        out.append(blocks.context(f"Labels: {common}"))
    return out


def digest(entries: Sequence[Entry]) -> list[Block]:
    """Several groups that arrived together, one section (and its buttons) each."""
    firing = sum(1 for e in entries if e.group.firing)
    out: list[Block] = [blocks.header(f"🔥 {len(entries)} alert groups ({firing} firing)")]
    for index, entry in enumerate(entries):
        g = entry.group
        links = " · ".join(dict.fromkeys(link for a in g.alerts for link in _links(a, g.common_annotations)))
        head = f"*{escape(_title(entry))}* · {_facts(entry)}"
        out.append(blocks.section("\n".join(x for x in (head, _summary(g), links) if x)))
        out += _buttons(entry, index)
        out += _elsewhere(entry)
    return out


def render(entries: Sequence[Entry]) -> tuple[str, blocks.Blocks]:
    """Notification text (escaped; shown in push notifications) and validated blocks (≤ 50)."""
    if len(entries) == 1:
        g = entries[0].group
        summary = (g.common_annotations or (g.alerts[0].annotations if g.alerts else {})).get("summary", "")
        text = f"[{g.status.upper()}] {g.alertname}" + (f": {summary}" if summary else "")
        return escape(text)[:3000], blocks.render(full(entries[0]))
    titles = ", ".join(f"[{e.group.status.upper()}] {e.group.alertname}" for e in entries)
    return escape(f"{len(entries)} alert groups: {titles}")[:3000], blocks.render(digest(entries))
