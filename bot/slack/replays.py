"""Replay protection for signed Slack requests: each signature is accepted once.

A signature covers timestamp and body, so seeing one twice means a replay, never a Slack retry
(Slack re-signs retries). Redis keeps the record; while Redis is down PostgreSQL does, so a replayed
`/incident declare` cannot slip through an outage. With both down nothing that creates or changes
state can run anyway (all of it needs PostgreSQL), so read-only requests are still let through.
"""

from __future__ import annotations

import hashlib

import structlog

from bot import errors
from bot.coord import Coordinator
from bot.store.signatures import SeenSignatures

log = structlog.get_logger(__name__)


class ReplayGuard:
    def __init__(self, coord: Coordinator, fallback: SeenSignatures, *, window_seconds: int) -> None:
        self._coord = coord
        self._fallback = fallback
        self._window = window_seconds

    async def first_time(self, signature: str) -> bool:
        fingerprint = hashlib.sha256(signature.encode()).hexdigest()
        try:
            return await self._coord.first_time(f"sig:{fingerprint}", ttl_seconds=self._window)
        except errors.UnavailableError:
            log.warning("replay check falls back to PostgreSQL: Redis unavailable")
        try:
            return await self._fallback.first_time(fingerprint, window_seconds=self._window)
        except errors.UnavailableError:
            log.warning("replay check skipped: Redis and PostgreSQL unavailable, so nothing can change state")
            return True
