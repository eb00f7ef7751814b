"""Redis actions on a service's own Redis: queue depths (runbook 002: `LLEN bull:*`), INFO as the
runbooks read it, clearing the catalog's cache patterns (runbook 000) and purging its queues."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import BaseModel, ConfigDict, Field

from bot import errors
from bot.actions import tables
from bot.actions.registry import Action, ActionContext, ActionResult, Change, FunctionAction
from bot.catalog_targets import RedisTarget
from bot.targets import redis
from bot.targets.env import from_env


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


async def queue_depth(ctx: ActionContext, _: NoParams) -> ActionResult:
    target = ctx.target("redis")
    if not isinstance(target, RedisTarget):
        raise errors.UserError("no_redis", service=ctx.service_name)
    if not target.queues:
        raise errors.UserError("catalog_list_empty", service=ctx.service_name, key="queues")
    url = from_env(target.url_env, redis.DEPENDENCY)
    depths = await redis.queue_depths(url, list(target.queues), time_limit=ctx.timeout_seconds)
    width = max(len(k) for k in depths)
    details = "\n".join(f"{key:<{width}}  {depth}" for key, depth in depths.items())
    return ActionResult(
        errors.Said("redis_queue_depth", jobs=sum(depths.values()), queues=len(depths), service=ctx.service_name),
        details=details,
        data={"queues": depths},
    )


# clear-cache stops after this many keys (and says so): one command never walks an unbounded keyspace.
CLEAR_BOUND = 100_000


class PatternParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    pattern: str = Field(min_length=1, max_length=200)


class QueueParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    queue: str = Field(min_length=1, max_length=200)


def _redis(ctx: ActionContext) -> RedisTarget:
    target = ctx.target("redis")
    if not isinstance(target, RedisTarget):
        raise errors.UserError("no_redis", service=ctx.service_name)
    return target


@contextmanager
def _naming_the_redis(ctx: ActionContext, target: RedisTarget) -> Iterator[None]:
    """An unreachable Redis is one line saying whose, and which env var points at it."""
    try:
        yield
    except errors.UnavailableError as exc:
        detail = " ".join(exc.detail.split())
        dependency = errors.Said("redis_of", service=ctx.service_name, env=target.url_env)
        raise errors.UnavailableError(dependency, detail) from exc


def _allowed(value: str, allowed: tuple[str, ...], ctx: ActionContext, key: str) -> None:
    if value in allowed:
        return
    if not allowed:
        raise errors.UserError("catalog_list_empty", service=ctx.service_name, key=key)
    shown = [errors.Code(a) for a in allowed]
    raise errors.UserError(
        "not_in_catalog_list", value=errors.Code(value), key=key, service=ctx.service_name, allowed=shown
    )


def _bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    size, unit = n / 1024, "KiB"
    for bigger in ("MiB", "GiB"):
        if size < 1024:
            break
        size, unit = size / 1024, bigger
    return f"{size:.1f} {unit}"


async def info(ctx: ActionContext, _: NoParams) -> ActionResult:
    target = _redis(ctx)
    with _naming_the_redis(ctx, target):
        s = await redis.stats(from_env(target.url_env, redis.DEPENDENCY), time_limit=ctx.timeout_seconds)
    # Figures as data (the phrases format the ratios); sizes in INFO's own units (12.5 MiB).
    hit_rate = s.hit_rate
    used, maxmemory = _bytes(s.memory.used), _bytes(s.memory.maxmemory) if s.memory.maxmemory else None
    ratio = s.memory.ratio if s.memory.maxmemory else None  # of maxmemory (None: no limit set)
    rows = [
        (
            errors.Said("redis_label_hit_rate"),
            errors.Said("redis_hit_rate", hit_rate=hit_rate, hits=s.hits, misses=s.misses),
        ),
        (errors.Said("redis_label_memory"), errors.Said("redis_memory", memory=used, ratio=ratio, maxmemory=maxmemory)),
        (errors.Said("redis_label_clients"), s.clients),
        (errors.Said("redis_label_ops"), s.ops_per_second),
        (errors.Said("redis_label_evicted"), s.evicted_keys),
        (errors.Said("redis_label_keys"), s.keys),
    ]
    lines = [
        f"{tables.said(label):<13} {tables.said(value) if isinstance(value, errors.Said) else value}"
        for label, value in rows
    ]
    return ActionResult(
        errors.Said(
            "redis_info", service=ctx.service_name, hit_rate=hit_rate, memory=used, ratio=ratio, maxmemory=maxmemory
        ),
        details="\n".join(lines),
        data={
            "hit_rate": s.hit_rate,
            "used_memory": s.memory.used,
            "maxmemory": s.memory.maxmemory,
            "clients": s.clients,
            "ops_per_second": s.ops_per_second,
            "evicted_keys": s.evicted_keys,
        },
    )


async def clear_cache(ctx: ActionContext, p: PatternParams) -> ActionResult:
    """The dry run counts the matching keys (SCAN, bounded) and shows a few; the run UNLINKs them in
    batches. Cache keys come and go, so the run clears what matches then, within the same bound."""
    target = _redis(ctx)
    _allowed(p.pattern, target.cache_patterns, ctx, "cache_patterns")
    with _naming_the_redis(ctx, target):
        url = from_env(target.url_env, redis.DEPENDENCY)
        scan = redis.scan_keys if ctx.dry_run else redis.unlink_keys
        found = await scan(url, p.pattern, bound=CLEAR_BOUND, time_limit=ctx.timeout_seconds)
    if not found.count:
        return ActionResult(errors.Said("redis_no_key", pattern=errors.Code(p.pattern)), no_op=True, data={"count": 0})
    return ActionResult(
        errors.Said(
            "redis_unlinked",
            dry_run=ctx.dry_run,
            count=found.count,
            complete=found.complete,
            pattern=errors.Code(p.pattern),
            sample=list(found.sample),
            more=found.count > len(found.sample),
        ),
        changes=(Change(errors.Said("redis_keys_matching", pattern=p.pattern), "cached", "unlinked"),),
        data={"count": found.count, "sample": list(found.sample), "complete": found.complete},
    )


async def purge_queue(ctx: ActionContext, p: QueueParams) -> ActionResult:
    target = _redis(ctx)
    _allowed(p.queue, target.queues, ctx, "queues")
    with _naming_the_redis(ctx, target):
        url = from_env(target.url_env, redis.DEPENDENCY)
        if ctx.dry_run:
            depth = (await redis.queue_depths(url, [p.queue], time_limit=ctx.timeout_seconds))[p.queue]
        else:
            depth = await redis.purge_queue(url, p.queue, time_limit=ctx.timeout_seconds)
    if not depth and ctx.dry_run:
        return ActionResult(errors.Said("redis_queue_empty", queue=errors.Code(p.queue)), no_op=True, data={"jobs": 0})
    return ActionResult(
        errors.Said("redis_purged", dry_run=ctx.dry_run, jobs=depth, queue=errors.Code(p.queue)),
        changes=(
            Change(
                errors.Said("redis_queue", queue=p.queue),
                errors.Said("redis_jobs", jobs=depth),
                errors.Said("redis_jobs", jobs=0),
            ),
        ),
        data={"jobs": depth},
    )


def redis_actions() -> list[Action]:
    return [
        FunctionAction("redis.queue_depth", NoParams, False, queue_depth, target="redis", requires=("queues",)),
        FunctionAction("redis.info", NoParams, False, info, target="redis"),
        FunctionAction(
            "redis.clear_cache", PatternParams, True, clear_cache, target="redis", requires=("cache_patterns",)
        ),
        FunctionAction("redis.purge_queue", QueueParams, True, purge_queue, target="redis", requires=("queues",)),
    ]
