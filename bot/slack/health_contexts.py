"""What the health report's templates receive: every service, check and figure escaped here, once.

Check values are phrases of the book (`health_http`…) said with figures from the systems checked
(an HTTP status, an error's reason), service names come from the catalog: all of it is mrkdwn-escaped
(`say` shows each phrase's fields escaped) and clipped before a template sees it. Button ids and values
are built from bot.ids, so the click listener matches whatever the templates say around them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bot import errors
from bot.comms.contexts import mention, safe
from bot.health.model import SEVERITY, CheckResult, Report, ServiceHealth, State, Suggestion
from bot.ids import BlockId, suggestion_action_id, suggestion_value

BUTTONS_PER_ROW = 25
SUMMARY_SECTIONS = 25  # sections of service lines in the summary; the rest are in the thread
SUMMARY_BUTTON_ROWS = 10
THREAD_BLOCKS = 45  # below 50, leaving room for a heading
SECTION_BUDGET = 2800  # escaped values per section, below Slack's 3000 with room for the template's words
LINE_WORDS = 40  # what a template adds to a line (icon, separators, state)
NAME_LIMIT = 120
VALUE_LIMIT = 600

Say = Callable[[errors.Said], str]
"""A phrase of the book in mrkdwn, its fields escaped (the Templates' `phrase` with `mrkdwn.field`)."""


@dataclass(frozen=True)
class Occasion:
    """Why a report is posted: the daily schedule (its time, and whether it is late) or someone asking."""

    scheduled_at: str | None = None
    late: bool = False
    asked_by: str | None = None
    service: str | None = None  # `/runbook health SERVICE`


def occasion(o: Occasion) -> dict[str, Any]:
    return {
        "daily": o.scheduled_at is not None,
        "scheduled_at": safe(o.scheduled_at or "", 100),
        "late": o.late,
        "asked_by": mention(o.asked_by) if o.asked_by else "",
        "service": safe(o.service, NAME_LIMIT) if o.service else "",
    }


def _figure(c: CheckResult | None, say: Say) -> dict[str, str]:
    if c is None:
        return {"check": "", "metric": "", "value": ""}
    value = say(c.value)
    if len(value) > VALUE_LIMIT:  # cut where no escape or mention can be split
        value = value[: value.rfind(" ", 0, VALUE_LIMIT - 1) + 1] + "…"
    return {"check": safe(c.check, NAME_LIMIT), "metric": safe(c.metric, NAME_LIMIT), "value": value}


def service_line(svc: ServiceHealth, say: Say) -> dict[str, Any]:
    return {
        "kind": "service",
        "state": svc.state.value,
        "service": safe(svc.service, NAME_LIMIT),
        **_figure(svc.deciding, say),
    }


def check_line(svc: ServiceHealth, c: CheckResult, say: Say) -> dict[str, Any]:
    return {"kind": "check", "state": c.state.value, "service": safe(svc.service, NAME_LIMIT), **_figure(c, say)}


def _size(line: dict[str, Any]) -> int:
    return LINE_WORDS + sum(len(str(v)) for v in line.values())


def pack(lines: Iterable[dict[str, Any]], budget: int = SECTION_BUDGET) -> Iterator[list[dict[str, Any]]]:
    """Lines grouped into sections whose escaped values stay within `budget` characters."""
    current: list[dict[str, Any]] = []
    used = 0
    for line in lines:
        size = _size(line)
        if current and used + size > budget:
            yield current
            current, used = [], 0
        current.append(line)
        used += size
    if current:
        yield current


def button_rows(suggestions: Sequence[tuple[str, Suggestion]], start: int) -> list[dict[str, Any]]:
    """Rows of ≤25 buttons; action_ids numbered from `start` so none repeats within a message (Slack
    requires it; the click listener matches them all)."""
    made = [
        {
            "procedure": safe(s.procedure, 60),
            "args": safe(s.args, 60),
            "action_id": suggestion_action_id(start + i),
            "value": suggestion_value(s.procedure, s.args),
        }
        for i, (_, s) in enumerate(suggestions)
    ]
    return [
        {"block_id": f"{BlockId.SUGGESTED_ACTIONS.value}-{start + n}", "buttons": made[i : i + BUTTONS_PER_ROW]}
        for n, i in enumerate(range(0, len(made), BUTTONS_PER_ROW))
    ]


def _by_severity(report: Report) -> list[ServiceHealth]:
    return sorted(report.services, key=lambda s: -SEVERITY[s.state])


def _suggestions(report: Report, procedures: Collection[str]) -> list[tuple[str, Suggestion]]:
    return [(label, s) for label, s in report.suggestions() if s.procedure in procedures]


def summary(report: Report, o: Occasion, procedures: Collection[str], say: Say) -> dict[str, Any]:
    """The summary: a line per service (worst first) and the first buttons; the rest go to the thread."""
    ordered = _by_severity(report)
    sections = list(pack(service_line(s, say) for s in ordered))
    shown = _suggestions(report, procedures)[: SUMMARY_BUTTON_ROWS * BUTTONS_PER_ROW]
    # States no service is in are left out: "0 unknown" in a healthy report reads like a problem.
    states = (State.FAIL, State.UNKNOWN, State.WARN, State.OK)
    return {
        **occasion(o),
        "state": report.state.value,
        "failing": report.count(State.FAIL),
        "counts": [{"state": s.value, "n": report.count(s)} for s in states if report.count(s)],
        "sections": sections[:SUMMARY_SECTIONS],
        "buttons": button_rows(shown, 0),
        "elapsed": report.elapsed_seconds,  # seconds, as a number the template formats
        "services_in_thread": len(ordered) if len(sections) > SUMMARY_SECTIONS else 0,
    }


def details(report: Report, o: Occasion, procedures: Collection[str], say: Say) -> list[dict[str, Any]]:
    """One context per thread reply: every service with its checks, then the buttons the summary lacked."""
    lines: list[dict[str, Any]] = []
    for svc in _by_severity(report):
        lines.append(service_line(svc, say))
        lines.extend(check_line(svc, c, say) for c in svc.checks)
    start = SUMMARY_BUTTON_ROWS * BUTTONS_PER_ROW
    parts: list[dict[str, Any]] = [{"lines": section} for section in pack(lines)]
    parts += [{"row": row} for row in button_rows(_suggestions(report, procedures)[start:], start)]
    chunks = [parts[i : i + THREAD_BLOCKS] for i in range(0, len(parts), THREAD_BLOCKS)]
    return [{**occasion(o), "n": n + 1, "of": len(chunks), "parts": chunk} for n, chunk in enumerate(chunks)]
