"""Guide sessions in PostgreSQL: a section opened in a channel, and the incident it serves. All their SQL."""

from __future__ import annotations

from datetime import datetime

from bot.store.db import Database


class GuideSessionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def opened(
        self,
        *,
        channel_id: str,
        message_ts: str,
        guide: str,
        section: str,
        user_id: str,
        at: datetime,
        incident_id: int | None,
    ) -> None:
        async with self._db.acquire() as conn:
            await conn.execute(
                "INSERT INTO guide_sessions (channel_id, message_ts, guide, section, opened_by, opened_at, incident_id)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                channel_id,
                message_ts,
                guide,
                section,
                user_id,
                at,
                incident_id,
            )

    async def incident_of(self, channel_id: str, message_ts: str) -> int | None:
        """The incident the guide in this message serves, if it was opened for one."""
        async with self._db.acquire() as conn:
            value = await conn.fetchval(
                "SELECT incident_id FROM guide_sessions WHERE channel_id = $1 AND message_ts = $2",
                channel_id,
                message_ts,
            )
        return int(value) if value is not None else None
