"""The checks of one service (Kubernetes, HTTP, Prometheus, PostgreSQL, Redis) and the bounded fan-out
over the catalog.

Every check runs under its own timeout and a shared semaphore; an unreachable target or an
unexpected error becomes an "unknown" result carrying the reason, so one bad target never
costs the rest of the report.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Protocol

import aiohttp
import structlog

from bot import errors
from bot.catalog import Catalog, PrometheusCheck, Service
from bot.catalog_targets import KubernetesTarget
from bot.health.limits import Limits
from bot.health.model import PROMETHEUS, CheckResult, Report, ServiceHealth, State, Suggestion, worst
from bot.k8s.models import DeploymentStatus
from bot.targets import http, postgres, prometheus, redis
from bot.targets.env import from_env

log = structlog.get_logger(__name__)


class DeploymentReader(Protocol):
    async def deployment_status(self, service: KubernetesTarget) -> DeploymentStatus: ...


@dataclass(frozen=True)
class Targets:
    """The clients a report run uses; built per run by the caller, closed by it."""

    kube: DeploymentReader
    session: aiohttp.ClientSession
    prometheus_url: str | None = None  # None = skip Prometheus checks
    limits: Limits = field(default_factory=Limits)


Check = Callable[[], Awaitable[CheckResult]]


def _suggest(procedure: str) -> Suggestion:
    # Argument text is filled in per service by `_with_args` once the replica count is known.
    return Suggestion(procedure, "")


def _level(value: float, warn: float | None, fail: float | None) -> State:
    if fail is not None and value > fail:
        return State.FAIL
    if warn is not None and value > warn:
        return State.WARN
    return State.OK


async def check_kubernetes(name: str, target: KubernetesTarget, t: Targets) -> CheckResult:
    s = await t.kube.deployment_status(target)
    restarts = sum(p.restarts for p in s.pods)
    stuck = any(c.type == "Progressing" and c.reason == "ProgressDeadlineExceeded" for c in s.conditions)
    unavailable = max(s.desired - s.available, 0)
    value = errors.Said(
        "health_kubernetes", ready=s.ready, desired=s.desired, unavailable=unavailable, restarts=restarts, stuck=stuck
    )
    data = {"desired": s.desired, "ready": s.ready, "restarts": restarts, "stuck": stuck}
    lim = t.limits
    if stuck:
        state, suggestion = State.FAIL, _suggest("rollback")
    elif s.desired == 0:
        state, suggestion = State.WARN, _suggest("scale")
        value = errors.Said("health_scaled_to_zero")
    elif s.ready * 2 < s.desired:  # fewer than half ready: users notice
        state, suggestion = State.FAIL, _suggest("restart")
    elif s.ready < s.desired or restarts >= lim.restarts_warn:
        state = State.FAIL if restarts >= lim.restarts_fail else State.WARN
        suggestion = _suggest("restart")
    else:
        state, suggestion = State.OK, None
    return CheckResult(name, "kubernetes", state, value, suggestion, data)


async def check_http(name: str, url: str, t: Targets) -> CheckResult:
    lim = t.limits
    p = await http.probe(t.session, url, time_limit=lim.http_timeout)
    value = errors.Said("health_http", status=p.status, latency_ms=p.latency_ms)
    if not 200 <= p.status < 300:
        return CheckResult(name, "http", State.FAIL, value, _suggest("restart"), {"status": p.status})
    state = _level(p.latency_ms, lim.http_warn_ms, lim.http_fail_ms)
    suggestion = _suggest("scale") if state == State.FAIL else None
    return CheckResult(name, "http", state, value, suggestion, {"status": p.status, "latency_ms": p.latency_ms})


async def check_prometheus(name: str, pc: PrometheusCheck, base_url: str, t: Targets) -> CheckResult:
    value = await prometheus.instant_query(t.session, base_url, pc.query, time_limit=t.limits.http_timeout)
    if value is None:
        return CheckResult(name, PROMETHEUS, State.UNKNOWN, errors.Said("health_no_data", name=pc.name), metric=pc.name)
    state = _level(value, pc.warn_above, pc.fail_above)
    suggestion = _suggest(pc.suggest) if pc.suggest and state == State.FAIL else None
    # The figure as data: the phrase shows it (to 4 significant digits, in the packaged book).
    said = errors.Said("health_prometheus", name=pc.name, value=value)
    return CheckResult(name, PROMETHEUS, state, said, suggestion, {"value": value}, metric=pc.name)


async def check_postgres(name: str, env: str, t: Targets) -> CheckResult:
    lim = t.limits
    dsn = from_env(env, postgres.DEPENDENCY)
    u = await postgres.usage(dsn, time_limit=lim.check_timeout)
    slow = await postgres.long_queries(dsn, lim.long_query_minutes * 60, time_limit=lim.check_timeout)
    value = errors.Said(
        "health_postgres",
        in_use=u.in_use,
        max_connections=u.max_connections,
        percent=round(u.ratio * 100),
        slow=len(slow),
        minutes=lim.long_query_minutes,
    )
    state = _level(u.ratio, lim.pg_connections_warn, lim.pg_connections_fail)
    if slow and state == State.OK:
        state = State.WARN
    suggestion = _suggest("kill-long-queries") if slow else None
    return CheckResult(name, "postgres", state, value, suggestion, {"in_use": u.in_use, "slow": len(slow)})


async def check_redis(name: str, env: str, queues: list[str], t: Targets) -> CheckResult:
    lim = t.limits
    url = from_env(env, redis.DEPENDENCY)
    memory, depths = await redis.health(url, queues, time_limit=lim.check_timeout)
    state = State.OK
    percent = None
    if memory.ratio is not None:
        percent = round(memory.ratio * 100)
        state = _level(memory.ratio, lim.redis_memory_warn, lim.redis_memory_fail)
    suggestion = None
    queue, deepest = "", 0
    if depths:
        queue, deepest = max(depths.items(), key=lambda kv: kv[1])
        queue_state = _level(deepest, lim.queue_warn, lim.queue_fail)
        if queue_state == State.FAIL:
            suggestion = _suggest("scale")  # a backlog wants more workers
        state = worst([state, queue_state])
    value = errors.Said("health_redis", mib=round(memory.used / 2**20), percent=percent, queue=queue, depth=deepest)
    return CheckResult(name, "redis", state, value, suggestion, {"queues": depths})


def service_checks(name: str, service: Service, t: Targets) -> list[tuple[str, str, Check]]:
    """(kind, Prometheus check name or "", check) for everything the catalog configures for this service."""
    checks: list[tuple[str, str, Check]] = []
    if service.kubernetes is not None and service.kubernetes.deployment:
        checks.append(("kubernetes", "", partial(check_kubernetes, name, service.kubernetes, t)))
    if service.health_url:
        checks.append(("http", "", partial(check_http, name, service.health_url, t)))
    if t.prometheus_url:
        for pc in service.prometheus:
            checks.append((PROMETHEUS, pc.name, partial(check_prometheus, name, pc, t.prometheus_url, t)))
    if service.postgres_dsn_env:
        checks.append(("postgres", "", partial(check_postgres, name, service.postgres_dsn_env, t)))
    if service.redis_url_env:
        checks.append(("redis", "", partial(check_redis, name, service.redis_url_env, service.queues, t)))
    return checks


def _reason(exc: errors.BotError) -> errors.Said:
    """Why a check could not decide, as the error says it (its phrase and fields)."""
    if isinstance(exc, errors.UnavailableError):
        return errors.Said("unavailable", dependency=exc.said_dependency, detail=exc.said_detail)
    said = errors.said_of(exc)
    return said if isinstance(said, errors.Said) else errors.Said("check_error", error=str(said)[:300])


async def guarded(
    name: str, kind: str, check: Check, gate: asyncio.Semaphore, time_limit: float, *, metric: str = ""
) -> CheckResult:
    """Run one check under the gate and a timeout; failures become "unknown" with the reason."""
    async with gate:
        try:
            async with asyncio.timeout(time_limit):
                return await check()
        except TimeoutError:
            reason = errors.Said("no_answer_within", seconds=time_limit)
        except errors.BotError as exc:
            reason = _reason(exc)
        except Exception as exc:  # one broken check must not cost the whole report
            log.exception("health check failed unexpectedly", service=name, check=kind, metric=metric)
            reason = errors.Said("check_failed_unexpectedly", error=type(exc).__name__)
    return CheckResult(name, kind, State.UNKNOWN, reason, metric=metric)


def scale_target(service: Service, desired: int) -> int:
    """Half as many again (at least one more), within the service's replica limits."""
    wanted = max(desired + max(1, desired // 2), service.replicas.min, 1)
    return min(wanted, service.replicas.max)


def _with_args(name: str, service: Service, result: CheckResult, desired: int | None) -> CheckResult:
    if result.suggestion is None:
        return result
    args = name
    if result.suggestion.procedure == "scale" and desired is not None:
        args = f"{name} {scale_target(service, desired)}"
    return replace(result, suggestion=Suggestion(result.suggestion.procedure, args))


async def check_service(name: str, service: Service, t: Targets, gate: asyncio.Semaphore) -> ServiceHealth:
    timeout = t.limits.check_timeout
    results = await asyncio.gather(
        *(
            guarded(name, kind, check, gate, timeout, metric=metric)
            for kind, metric, check in service_checks(name, service, t)
        )
    )
    desired = next((r.data.get("desired") for r in results if r.check == "kubernetes" and r.data), None)
    return ServiceHealth(name, tuple(_with_args(name, service, r, desired) for r in results))


async def run_checks(
    catalog: Catalog, t: Targets, *, only: Iterable[str] | None = None, concurrency: int | None = None
) -> Report:
    """Check the named services (default: all) with at most `concurrency` checks in flight."""
    names = list(only) if only is not None else list(catalog.services)
    gate = asyncio.Semaphore(concurrency or catalog.health.concurrency)
    started = time.monotonic()
    found = await asyncio.gather(*(check_service(n, catalog.services[n], t, gate) for n in names))
    return Report(tuple(found), time.monotonic() - started)
