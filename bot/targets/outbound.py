"""One JSON call to a third-party API (Statuspage, PagerDuty), with its outcome sorted for the outbox.

A call either answers, or fails temporarily (timeouts, connection errors, 5xx, 408, 420/429 rate
limits, a key that is not accepted yet: retried later, honouring `Retry-After`), or is refused for
good (any other 4xx: the body is wrong, and sending it again will not change that).
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bot import errors

ERROR_TEXT_LIMIT = 300
# Statuspage answers 420 as well as 429 when rate limiting; 401/403 mean the key is missing or not
# (yet) valid: fixing it in the environment must let the waiting updates through, not drop them.
TEMPORARY_STATUSES = frozenset({401, 403, 408, 420, 429})


class DeliveryError(Exception):
    """A call to Statuspage or PagerDuty that did not deliver. Its reason is a phrase of the book: the
    incident timeline and the outbox row keep it as the plain text said at the time (`reason`)."""

    def __init__(self, said: errors.Said, *, temporary: bool, retry_after: float | None = None) -> None:
        self.said = said
        self.reason = errors.plain(said)
        super().__init__(self.reason)
        self.temporary = temporary
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def error_text(body: str) -> str:
    """What the API said was wrong: Statuspage's `error`, PagerDuty's `message` and `errors` ("" if nothing)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body.strip()[:ERROR_TEXT_LIMIT]
    parts: list[str] = []
    if isinstance(parsed, dict):
        for key in ("error", "message", "errors"):
            value = parsed.get(key)
            if isinstance(value, list):
                parts.extend(str(v) for v in value)
            elif value:
                parts.append(str(value))
    return "; ".join(parts)[:ERROR_TEXT_LIMIT]


class JsonApi:
    """An aiohttp session (opened on first use) with a timeout on every call."""

    def __init__(self, *, timeout: float) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def call(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.request(method, url, json=body, headers=dict(headers), params=params) as resp:
                text = await resp.text()
                if 200 <= resp.status < 300:
                    return json.loads(text) if text.strip() else {}
                reason = errors.Said("delivery_http_status", status=resp.status, error=error_text(text))
                if resp.status in TEMPORARY_STATUSES or resp.status >= 500:
                    raise DeliveryError(
                        reason, temporary=True, retry_after=retry_after_seconds(resp.headers.get("Retry-After"))
                    )
                raise DeliveryError(reason, temporary=False)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise DeliveryError(errors.network_reason(exc), temporary=True) from exc

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
