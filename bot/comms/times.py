"""Reading the times and durations people type: ISO 8601 with an offset, or naive in the catalog's zone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import errors

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
MAX_DURATION = timedelta(days=14)


def parse_start(raw: str, *, timezone: str, now: datetime) -> datetime:
    """A future moment; naive times are read in `timezone` (the catalog's), as people there say them."""
    text = raw.strip().replace(" ", "T", 1)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise errors.UserError("not_a_time", time=errors.Code(raw), timezone=timezone) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    if moment <= now:
        raise errors.UserError("time_in_past", time=errors.Code(raw), timezone=timezone)
    return moment


def parse_duration(raw: str) -> timedelta:
    match = _DURATION.match(raw.strip().lower())
    if not raw.strip() or match is None or not any(match.groups()):
        raise errors.UserError("not_a_window_duration", duration=errors.Code(raw))
    days, hours, minutes = (int(g or 0) for g in match.groups())
    span = timedelta(days=days, hours=hours, minutes=minutes)
    if not timedelta(0) < span <= MAX_DURATION:
        raise errors.UserError("window_duration_range", days=MAX_DURATION.days)
    return span
