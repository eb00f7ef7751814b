"""Slack request signatures seen while Redis is away: the record replay protection falls back to."""

from __future__ import annotations

from bot.store.db import Database


class SeenSignatures:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def first_time(self, fingerprint: str, *, window_seconds: int) -> bool:
        """True exactly once per fingerprint within the window, across replicas (the primary key decides)."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM seen_signatures WHERE seen_at < now() - make_interval(secs => $1)", window_seconds
            )
            inserted = await conn.fetchval(
                "INSERT INTO seen_signatures (fingerprint) VALUES ($1) ON CONFLICT DO NOTHING RETURNING true",
                fingerprint,
            )
        return bool(inserted)
