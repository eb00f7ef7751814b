"""What each template receives. Every user- or config-supplied string is escaped here, once.

Slack user ids are checked against their pattern before they become `<@U…>`
mentions, so a mention is the only markup that ever reaches a template unescaped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.catalog import Catalog
from bot.comms.records import Incident, MaintenanceWindow
from bot.ids import ActionId
from bot.text import escape

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
TITLE_LIMIT = 200
TEXT_LIMIT = 2000  # leaves room for the template's own words inside Slack's 3000-char section


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Control characters (other than newline and tab) mean nothing in a chat message, and YAML, which the
# templates render to, refuses some of them (DEL, C1 codes): drop them rather than fail the notice.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def safe(text: object, limit: int = TEXT_LIMIT) -> str:
    """Escaped, then clipped: escaping can make text 5x longer, and Slack counts the escaped length."""
    shown = escape(CONTROL.sub("", str(text)))
    if len(shown) <= limit:
        return shown
    shown = shown[: limit - 1]
    amp = shown.rfind("&")
    if amp != -1 and ";" not in shown[amp:]:
        shown = shown[:amp]  # never leave half an entity like `&am`
    return shown + "…"


def mention(user_id: str) -> str:
    return f"<@{user_id}>" if USER_ID.match(user_id) else safe(user_id, 80)


def when(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


def duration(span: timedelta) -> dict[str, int]:
    """A span in whole days, hours and minutes: templates word it (`duration` in comms_macros.j2)."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    return {"days": days, "hours": hours, "minutes": mins}


def _services(names: Sequence[str]) -> list[str]:
    return [safe(n, 80) for n in names]  # none: the template says so


def incident(inc: Incident, catalog: Catalog, *, late: bool = False) -> dict[str, Any]:
    severity = catalog.severities.get(inc.severity)
    every = severity.update_every_minutes if severity else None
    return {
        "id": inc.id,
        "title": safe(inc.title, TITLE_LIMIT),
        "severity": safe(inc.severity, 10),
        "severity_description": safe(severity.description if severity else "", 200),
        "response": safe(severity.response if severity else "", 100),
        "escalation": [safe(e, 200) for e in (severity.escalation if severity else [])],
        "update_every": every or 0,  # minutes; 0: no regular updates (the template words both)
        "impact": safe(inc.impact or ""),  # "": not assessed yet (the template says so)
        "services": _services(inc.services),
        "lead": mention(inc.lead),
        "declared_by": mention(inc.declared_by),
        "declared_at": when(inc.declared_at, catalog.timezone),
        "late": late,
        "actions": {
            "post_update": ActionId.INCIDENT_POST_UPDATE.value,
            "snooze": ActionId.INCIDENT_SNOOZE.value,
        },
        "value": str(inc.id),
    }


def incident_update(inc: Incident, catalog: Catalog, *, text: str, author: str) -> dict[str, Any]:
    return {**incident(inc, catalog), "update": safe(text), "author": mention(author)}


def incident_resolved(inc: Incident, catalog: Catalog, *, resolved_by: str) -> dict[str, Any]:
    end = inc.resolved_at or inc.declared_at
    return {
        **incident(inc, catalog),
        "root_cause": safe(inc.root_cause or ""),  # "": none given (the template says so)
        "resolution": safe(inc.resolution or ""),
        "duration": duration(end - inc.declared_at),
        "resolved_at": when(end, catalog.timezone),
        "resolved_by": mention(resolved_by),
    }


def maintenance(window: MaintenanceWindow, catalog: Catalog, *, late: bool = False) -> dict[str, Any]:
    return {
        "id": window.id,
        "purpose": safe(window.purpose),
        "services": _services(window.services),
        "start": when(window.starts_at, catalog.timezone),
        "end": when(window.ends_at, catalog.timezone),
        "duration": duration(window.ends_at - window.starts_at),
        "created_by": mention(window.created_by),
        "cancelled_by": mention(window.cancelled_by) if window.cancelled_by else "",
        "late": late,
    }
