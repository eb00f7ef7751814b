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
        raise errors.UnavailableError(DEPENDENCY, errors.Said("url_malformed")) from exc
    try:
        yield client
    except (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError) as exc:
        # redis-py's connection errors quote host and port; say what happened, not where.
        raise errors.UnavailableError(
            DEPENDENCY, errors.Said("cannot_connect", why=errors.network_reason(exc))
        ) from exc
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


@dataclass(frozen=True)
class Stats:
    """`INFO` as runbooks 000/002 read it: hit rate, memory against maxmemory, clients, load, evictions."""

    hits: int
    misses: int
    memory: Memory
    clients: int
    ops_per_second: int
    evicted_keys: int
    keys: int  # in the database the URL names

    @property
    def hit_rate(self) -> float | None:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else None


@dataclass(frozen=True)
class KeyScan:
    """What SCAN found for a pattern, up to a bound."""

    count: int
    sample: tuple[str, ...]
    complete: bool  # False when the bound stopped the scan: there are more


SCAN_COUNT = 1000  # keys per SCAN call: large enough to be quick, small enough not to block Redis
UNLINK_BATCH = 500
SAMPLE_KEYS = 5


async def stats(url: str, *, time_limit: float) -> Stats:
    async with connect(url, time_limit=time_limit) as client:
        info = await client.info()
        keys = int(await client.dbsize())
    return Stats(
        hits=int(info.get("keyspace_hits", 0)),
        misses=int(info.get("keyspace_misses", 0)),
        memory=Memory(int(info.get("used_memory", 0)), int(info.get("maxmemory", 0))),
        clients=int(info.get("connected_clients", 0)),
        ops_per_second=int(info.get("instantaneous_ops_per_sec", 0)),
        evicted_keys=int(info.get("evicted_keys", 0)),
        keys=keys,
    )


def _text(key: bytes | str) -> str:
    return key.decode(errors="replace") if isinstance(key, bytes) else key


async def scan_keys(url: str, pattern: str, *, bound: int, time_limit: float) -> KeyScan:
    """Count the keys matching `pattern` (SCAN, never KEYS), stopping at `bound`."""
    count, sample = 0, list[str]()
    async with connect(url, time_limit=time_limit) as client:
        async for key in client.scan_iter(match=pattern, count=SCAN_COUNT):
            count += 1
            if len(sample) < SAMPLE_KEYS:
                sample.append(_text(key))
            if count >= bound:
                return KeyScan(count, tuple(sample), complete=False)
    return KeyScan(count, tuple(sample), complete=True)


async def unlink_keys(url: str, pattern: str, *, bound: int, time_limit: float) -> KeyScan:
    """UNLINK (freed off the main thread, unlike DEL) the keys matching `pattern`, in batches, at most
    `bound` of them; what was unlinked."""
    unlinked, sample, batch = 0, list[str](), list[bytes | str]()
    complete = True
    async with connect(url, time_limit=time_limit) as client:
        async for key in client.scan_iter(match=pattern, count=SCAN_COUNT):
            batch.append(key)
            if len(sample) < SAMPLE_KEYS:
                sample.append(_text(key))
            if len(batch) >= UNLINK_BATCH:
                unlinked += int(await client.unlink(*batch))
                batch = []
            if unlinked + len(batch) >= bound:
                complete = False
                break
        if batch:
            unlinked += int(await client.unlink(*batch))
    return KeyScan(unlinked, tuple(sample), complete)


async def purge_queue(url: str, key: str, *, time_limit: float) -> int:
    """Empty one queue (its list or sorted set goes at once, UNLINK); how many jobs it held."""
    async with connect(url, time_limit=time_limit) as client:
        depth = (await _depths(client, [key]))[key]
        await client.unlink(key)
    return depth
