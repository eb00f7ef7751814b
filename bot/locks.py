"""The engine's Locks port, on Redis (bot.coord)."""

from __future__ import annotations

import json

from bot import coord, errors
from bot.runbooks.locking import Holder, held_for


class RedisLocks:
    def __init__(self, coordinator: coord.Coordinator) -> None:
        self._coord = coordinator

    async def acquire(
        self, name: str, *, owner: str, procedure: str, service: str | None, ttl_seconds: int, execution: str
    ) -> object:
        got = await self._coord.acquire_lock(
            name,
            owner=owner,
            # A replica of the previous version, during a rolling deploy, reads only this text.
            detail=errors.plain(held_for(procedure, service)),
            ttl_seconds=ttl_seconds,
            execution=execution,
            about={"procedure": procedure, "service": service},
        )
        if isinstance(got, coord.LockHolder):
            return _holder(got.record)
        return got

    async def release(self, token: object) -> None:
        assert isinstance(token, coord.Lock)
        await self._coord.release_lock(token)

    async def release_of(self, name: str, execution: str) -> bool:
        return await self._coord.release_lock_of(name, execution)

    async def holder(self, name: str) -> Holder | None:
        raw = await self._coord.lock_holder(name)
        return None if raw is None else _holder(json.loads(raw))


def _holder(record: dict[str, object]) -> Holder:
    """A lock record as the engine reads it. One written before procedure and service were recorded
    (by the previous version, during a rolling deploy) has only its `detail` text, said as it is."""

    def text(key: str) -> str | None:
        value = record.get(key)
        return None if value is None else str(value)

    since = record.get("since")
    return Holder(
        owner=str(record["owner"]),
        since=float(since) if isinstance(since, int | float) else 0.0,
        procedure=text("procedure"),
        service=text("service"),
        detail=text("detail") or "",
        execution=text("execution"),
    )
