"""Reading the times and durations people type: ISO 8601 with an offset, or naive in the catalog's zone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import errors
from bot.text import quoted

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
MAX_DURATION = timedelta(days=14)


def time_examples(timezone: str) -> str:
    return f"e.g. `2026-12-01T22:00+01:00`, `2026-12-01T22:00` ({timezone}) or `2026-12-01 22:00`"


def parse_start(raw: str, *, timezone: str, now: datetime) -> datetime:
    """A future moment; naive times are read in `timezone` (the catalog's), as people there say them."""
    text = raw.strip().replace(" ", "T", 1)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise errors.UserError(
            f"Cannot read {quoted(raw)} as a time; use ISO 8601, {time_examples(timezone)}."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    if moment <= now:
        raise errors.UserError(
            f"{quoted(raw)} is in the past; maintenance must start in the future, {time_examples(timezone)}."
        )
    return moment


def parse_duration(raw: str) -> timedelta:
    match = _DURATION.match(raw.strip().lower())
    if not raw.strip() or match is None or not any(match.groups()):
        raise errors.UserError(f"Cannot read {quoted(raw)} as a duration; use e.g. `30m`, `2h`, `1h30m` or `1d`.")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    span = timedelta(days=days, hours=hours, minutes=minutes)
    if not timedelta(0) < span <= MAX_DURATION:
        raise errors.UserError(f"A maintenance window lasts between 1 minute and {MAX_DURATION.days} days.")
    return span
