"""PostgreSQL implementation of the scheduler's JobStore port: claims that hold across replicas."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from bot.scheduler import Job
from bot.store.db import Database

_LATE_AFTER = "interval '60 seconds'"  # a job claimed more than this after its time is reported late


def _job(row: asyncpg.Record) -> Job:
    return Job(row["id"], row["kind"], row["key"], row["run_at"], json.loads(row["payload"]), row["late"])


def _prefix_pattern(key_prefix: str) -> str:
    """A LIKE pattern matching keys that start with the prefix taken literally (`_` and `%` too)."""
    return key_prefix.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"


class PostgresJobStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, kind: str, key: str, run_at: datetime, payload: Mapping[str, Any]) -> bool:
        async with self._db.acquire() as conn:
            added = await conn.fetchval(
                "INSERT INTO scheduled_jobs (id, kind, key, run_at, payload) VALUES ($1, $2, $3, $4, $5::jsonb)"
                " ON CONFLICT (key) DO NOTHING RETURNING true",
                uuid.uuid4(),
                kind,
                key,
                run_at,
                json.dumps(dict(payload)),
            )
        return bool(added)

    async def cancel(self, key_prefix: str) -> int:
        async with self._db.acquire() as conn:
            result = await conn.execute(
                "UPDATE scheduled_jobs SET state = 'cancelled' WHERE state = 'pending' AND key LIKE $1",
                _prefix_pattern(key_prefix),
            )
        return int(result.split()[-1])

    async def pending(self, key_prefix: str) -> list[Job]:
        async with self._db.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, kind, key, run_at, payload, late FROM scheduled_jobs"
                " WHERE state = 'pending' AND key LIKE $1 ORDER BY run_at",
                _prefix_pattern(key_prefix),
            )
        return [_job(r) for r in rows]

    async def claim_due(self, now: datetime, *, owner: str, limit: int, stale_before: datetime) -> list[Job]:
        # SKIP LOCKED: two replicas polling at once each claim different rows, never the same one.
        async with self._db.transaction() as conn:
            rows = await conn.fetch(
                "UPDATE scheduled_jobs SET state = 'claimed', claimed_by = $2, claimed_at = $1,"
                f" late = (run_at < $1 - {_LATE_AFTER})"
                " WHERE id IN (SELECT id FROM scheduled_jobs"
                "              WHERE (state = 'pending' AND run_at <= $1) OR (state = 'claimed' AND claimed_at < $4)"
                "              ORDER BY run_at FOR UPDATE SKIP LOCKED LIMIT $3)"
                " RETURNING id, kind, key, run_at, payload, late",
                now,
                owner,
                limit,
                stale_before,
            )
        return [_job(r) for r in rows]

    async def release(self, job_ids: Sequence[uuid.UUID]) -> None:
        async with self._db.acquire() as conn:
            await conn.execute(
                "UPDATE scheduled_jobs SET state = 'pending', claimed_by = NULL, claimed_at = NULL"
                " WHERE id = ANY($1::uuid[]) AND state = 'claimed'",
                list(job_ids),
            )

    async def settle(self, job_id: uuid.UUID, state: str, error: str | None) -> None:
        async with self._db.acquire() as conn:
            await conn.execute("UPDATE scheduled_jobs SET state = $2, error = $3 WHERE id = $1", job_id, state, error)

    async def claim_fire(self, job_id: str, fire_at: datetime, *, owner: str, late: bool) -> bool:
        async with self._db.acquire() as conn:
            won = await conn.fetchval(
                "INSERT INTO scheduler_fires (job_id, fire_at, claimed_by, late) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT DO NOTHING RETURNING true",
                job_id,
                fire_at,
                owner,
                late,
            )
        return bool(won)
