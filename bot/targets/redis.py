"""A monitored service's Redis: ping, memory and queue depths."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot import errors

DEPENDENCY = "Redis"


@dataclass(frozen=True)
class Memory:
    used: int
    maxmemory: int  # 0 = no limit

    @property
    def ratio(self) -> float | None:
        return self.used / self.maxmemory if self.maxmemory else None


@asynccontextmanager
async def connect(url: str, *, time_limit: float) -> AsyncIterator[aioredis.Redis]:
    try:
        client = aioredis.from_url(url, socket_timeout=time_limit, socket_connect_timeout=time_limit)
    except ValueError as exc:
        raise errors.UnavailableError(DEPENDENCY, "its URL in the environment is malformed") from exc
    try:
        yield client
    except (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError) as exc:
        # redis-py's connection errors quote host and port; say what happened, not where.
        raise errors.UnavailableError(DEPENDENCY, f"cannot connect: {errors.network_reason(exc)}") from exc
    except RedisError as exc:  # the server's answer (WRONGTYPE, NOAUTH, OOM)
        raise errors.UnavailableError(DEPENDENCY, f"{type(exc).__name__}: {exc}"[:200]) from exc
    finally:
        await client.aclose()


async def _depths(client: aioredis.Redis, keys: Sequence[str]) -> dict[str, int]:
    """Length of each queue key. Bull keeps waiting jobs in a list but failed/completed ones in a
    sorted set, so LLEN alone would answer WRONGTYPE for half the runbook's keys."""
    depths: dict[str, int] = {}
    for key in keys:
        kind = await client.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        if kind == "list":
            depths[key] = int(await client.llen(key))
        elif kind == "zset":
            depths[key] = int(await client.zcard(key))
        else:
            depths[key] = 0  # absent (an empty queue) or not a queue
    return depths


async def queue_depths(url: str, keys: Sequence[str], *, time_limit: float) -> dict[str, int]:
    async with connect(url, time_limit=time_limit) as client:
        return await _depths(client, keys)


async def health(url: str, keys: Sequence[str], *, time_limit: float) -> tuple[Memory, dict[str, int]]:
    """PING, then INFO memory, then the queue depths, on one connection."""
    async with connect(url, time_limit=time_limit) as client:
        await client.ping()
        info = await client.info("memory")
        memory = Memory(int(info.get("used_memory", 0)), int(info.get("maxmemory", 0)))
        return memory, await _depths(client, keys)
