"""Slack request signing (v0): verified by us before Bolt sees the request.

We do it ourselves so that every bad request (missing, forged, stale, future or
non-numeric timestamp) is a 401; Bolt answers some of those with a 500.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

MAX_SKEW_SECONDS = 300
# Unix seconds have 10 digits until the year 2286; a longer "number" is not a timestamp, and int() of a
# few thousand digits raises (Python's int/str conversion limit) instead of answering.
MAX_TIMESTAMP_DIGITS = 12


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: float) -> str | None:
    """None when the request is genuine and fresh; otherwise the reason (for the log, not the caller)."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    given = headers.get("X-Slack-Signature", "")
    if not timestamp or not given:
        return "missing signature headers"
    if not timestamp.isascii() or not timestamp.isdigit():
        return "non-numeric timestamp"
    if len(timestamp) > MAX_TIMESTAMP_DIGITS:
        return "timestamp outside the 300 s window"
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        return "timestamp outside the 300 s window"
    if not hmac.compare_digest(signature(secret, timestamp, body), given):
        return "signature mismatch"
    return None
