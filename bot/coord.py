"""The Redis boundary: locks, rate limits and short-lived caches shared by every replica.

Nothing else in the bot imports redis. Every call has a timeout; a Redis failure
becomes UnavailableError so destructive work fails closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot import errors, metrics

# Release only if we still own the lock (compare-and-delete), so an expired lock
# taken over by someone else is never deleted by the old owner.
_RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""

# Release a lock only while it belongs to that execution: a sweep or a shutdown frees the target of a run
# it ended, and never a lock someone else has taken since.
_RELEASE_OF_EXECUTION_SCRIPT = """
local current = redis.call('get', KEYS[1])
if current and cjson.decode(current)['execution'] == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


@contextlib.contextmanager
def _redis_errors() -> Iterator[None]:
    try:
        yield
    except (RedisError, OSError) as exc:
        metrics.REDIS_ERRORS.labels(error=type(exc).__name__).inc()
        raise errors.UnavailableError("Redis", errors.network_reason(exc)) from exc


@dataclass(frozen=True)
class Lock:
    key: str
    token: str


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock we could not take, for the user's message: its record as stored (owner, since,
    detail, execution and the caller's own fields), read by the lock's user."""

    record: dict[str, Any]


class Coordinator:
    def __init__(self, url: str, *, timeout: float, prefix: str = "runbook-bot:") -> None:
        self._redis: aioredis.Redis = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            decode_responses=True,
            health_check_interval=30,
        )
        self._prefix = prefix
        self._once_batch: list[tuple[str, int, asyncio.Future[bool]]] = []  # see first_time
        self._release = self._redis.register_script(_RELEASE_SCRIPT)
        self._release_of_execution = self._redis.register_script(_RELEASE_OF_EXECUTION_SCRIPT)

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    async def close(self) -> None:
        await self._redis.aclose()

    async def ping(self) -> None:
        with _redis_errors():
            await self._redis.ping()

    async def acquire_lock(
        self,
        name: str,
        *,
        owner: str,
        detail: str,
        ttl_seconds: int,
        execution: str | None = None,
        about: Mapping[str, str | None] | None = None,
    ) -> Lock | LockHolder:
        """Take the lock, or say who holds it. Raises UnavailableError when Redis is down. `about` is
        stored in the record too (what holds the lock, as data)."""
        key = self._key("lock", name)
        token = secrets.token_hex(16)
        record = {
            **(about or {}),
            "token": token,
            "owner": owner,
            "since": time.time(),
            "detail": detail,
            "execution": execution,
        }
        value = json.dumps(record)
        with _redis_errors():
            taken = await self._redis.set(key, value, nx=True, ex=ttl_seconds)
            if taken:
                return Lock(key=key, token=value)
            current = await self._redis.get(key)
        if current is None:  # expired between SET and GET: one more try is enough
            return await self.acquire_lock(
                name, owner=owner, detail=detail, ttl_seconds=ttl_seconds, execution=execution, about=about
            )
        return LockHolder(record=json.loads(current))

    async def lock_holder(self, name: str) -> str | None:
        """The raw holder record of a lock (JSON), or None when free."""
        with _redis_errors():
            raw = await self._redis.get(self._key("lock", name))
        return None if raw is None else str(raw)

    async def extend_lock(self, lock: Lock, ttl_seconds: int) -> bool:
        with _redis_errors():
            current = await self._redis.get(lock.key)
            if current != lock.token:
                return False
            return bool(await self._redis.expire(lock.key, ttl_seconds))

    async def release_lock(self, lock: Lock) -> None:
        # If Redis is gone the TTL frees the lock anyway; the caller decides whether to say so.
        with _redis_errors():
            await self._release(keys=[lock.key], args=[lock.token])

    async def release_lock_of(self, name: str, execution: str) -> bool:
        """Delete the lock `name` if the execution `execution` holds it; True when it did."""
        with _redis_errors():
            return bool(await self._release_of_execution(keys=[self._key("lock", name)], args=[execution]))

    async def hit_rate_limit(
        self, name: str, *, limit: int, window_seconds: int, member: str | None = None
    ) -> int | None:
        """Count one hit; returns seconds to wait when over the limit, else None.

        Without `member`: a fixed window. With `member`: distinct members over the last `window_seconds`
        (a sliding window: a change is counted once however often its Confirm is clicked, and a member
        refused for being over the limit is not counted).
        """
        if member is not None:
            return await self._hit_distinct(name, member, limit=limit, window_seconds=window_seconds)
        window = int(time.time() // window_seconds)
        key = self._key("rate", name, str(window))
        with _redis_errors():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, window_seconds)
                count, _ = await pipe.execute()
        if int(count) > limit:
            return window_seconds - int(time.time() % window_seconds)
        return None

    async def _hit_distinct(self, name: str, member: str, *, limit: int, window_seconds: int) -> int | None:
        key = self._key("rate", name)
        now = time.time()
        with _redis_errors():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(key, 0, now - window_seconds)
                pipe.zadd(key, {member: now}, nx=True)
                pipe.zcard(key)
                pipe.expire(key, window_seconds)
                count = (await pipe.execute())[2]
            if int(count) <= limit:
                return None
            await self._redis.zrem(key, member)
            oldest = await self._redis.zrange(key, 0, 0, withscores=True)
        first = float(oldest[0][1]) if oldest else now
        return max(1, math.ceil(first + window_seconds - now))

    async def first_time(self, name: str, *, ttl_seconds: int) -> bool:
        """True exactly once per name within the TTL (idempotency of deliveries and retries).

        Every signed request asks this once (the replay check), so the calls made in one turn of the event
        loop share one pipelined round trip: the first caller sends the batch, the others wait for their
        own answer. A Redis failure reaches every caller of the batch as UnavailableError.
        """
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._once_batch.append((self._key("once", name), ttl_seconds, waiter))
        if len(self._once_batch) > 1:
            return await waiter  # the first caller of this batch sends it
        batch = self._once_batch  # the callers of this turn append to this very list
        try:
            await asyncio.sleep(0)  # one turn of the loop: the requests read in the same turn join the batch
            self._once_batch = []
            with _redis_errors():
                if len(batch) == 1:  # alone in its turn: a plain SET costs less than a pipeline of one
                    answers = [await self._redis.set(batch[0][0], "1", nx=True, ex=batch[0][1])]
                else:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for key, ttl, _ in batch:
                            pipe.set(key, "1", nx=True, ex=ttl)
                        answers = await pipe.execute()
        except BaseException as exc:
            # Cancelled (our own request ended) or Redis failed: the others must not wait forever, and
            # none of them may take an unanswered SET as "first time".
            if self._once_batch is batch:
                self._once_batch = []
            failure = (
                exc
                if isinstance(exc, errors.UnavailableError)
                else errors.UnavailableError("Redis", errors.Said("cancelled"))
            )
            for _, _, other in batch[1:]:
                if not other.done():
                    other.set_exception(failure)
            raise
        for (_, _, other), answer in zip(batch[1:], answers[1:], strict=True):
            if not other.done():
                other.set_result(bool(answer))
        return bool(answers[0])

    async def cache_get(self, name: str) -> Any | None:
        """A cached JSON value, or None when absent or when Redis fails (a cache miss is never fatal)."""
        try:
            raw = await self._redis.get(self._key("cache", name))
        except (RedisError, OSError):
            return None
        return None if raw is None else json.loads(raw)

    async def cache_set(self, name: str, value: Any, *, ttl_seconds: int) -> None:
        try:
            await self._redis.set(self._key("cache", name), json.dumps(value), ex=ttl_seconds)
        except (RedisError, OSError):
            return None

    async def get(self, name: str) -> str | None:
        with _redis_errors():
            raw = await self._redis.get(self._key("kv", name))
        return None if raw is None else str(raw)

    async def set(self, name: str, value: str, *, ttl_seconds: int | None = None) -> None:
        with _redis_errors():
            await self._redis.set(self._key("kv", name), value, ex=ttl_seconds)
