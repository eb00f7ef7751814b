"""The engine's Locks port, on Redis (bot.coord)."""

from __future__ import annotations

import json

from bot import coord
from bot.runbooks.locking import Holder


class RedisLocks:
    def __init__(self, coordinator: coord.Coordinator) -> None:
        self._coord = coordinator

    async def acquire(self, name: str, *, owner: str, detail: str, ttl_seconds: int, execution: str) -> object:
        got = await self._coord.acquire_lock(
            name, owner=owner, detail=detail, ttl_seconds=ttl_seconds, execution=execution
        )
        if isinstance(got, coord.LockHolder):
            return Holder(owner=got.owner, since=got.since, detail=got.detail, execution=got.execution)
        return got

    async def release(self, token: object) -> None:
        assert isinstance(token, coord.Lock)
        await self._coord.release_lock(token)

    async def release_of(self, name: str, execution: str) -> bool:
        return await self._coord.release_lock_of(name, execution)

    async def holder(self, name: str) -> Holder | None:
        raw = await self._coord.lock_holder(name)
        if raw is None:
            return None
        data = json.loads(raw)
        return Holder(owner=data["owner"], since=data["since"], detail=data["detail"], execution=data.get("execution"))
