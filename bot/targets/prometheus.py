"""Prometheus instant queries (`GET /api/v1/query`), the same call the runbook's curl makes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from bot import errors


def _first_value(data: Any) -> float | None:
    """The first sample of a vector or a scalar result; None when the query matched nothing."""
    kind = data.get("resultType")
    result = data.get("result")
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        return float(result[1])
    if kind == "vector" and isinstance(result, list):
        if not result:
            return None
        return float(result[0]["value"][1])
    raise errors.TargetError("prometheus_result_type", kind=repr(kind))


async def instant_query(
    session: aiohttp.ClientSession, base_url: str, query: str, *, time_limit: float
) -> float | None:
    url = base_url.rstrip("/") + "/api/v1/query"
    try:
        async with session.get(url, params={"query": query}, timeout=aiohttp.ClientTimeout(total=time_limit)) as resp:
            body = await resp.json(content_type=None)
    except TimeoutError as exc:
        raise errors.UnavailableError("Prometheus", errors.Said("no_answer_within", seconds=time_limit)) from exc
    except aiohttp.ClientError as exc:
        raise errors.UnavailableError("Prometheus", errors.network_reason(exc)) from exc
    except ValueError as exc:
        raise errors.UnavailableError("Prometheus", errors.Said("answer_not_json")) from exc
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error") if isinstance(body, dict) else None
        raise errors.TargetError("prometheus_refused", error=error)
    try:
        return _first_value(body.get("data") or {})
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise errors.TargetError("prometheus_not_understood", error=str(exc)) from exc


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels and (timestamp, value) points."""

    labels: dict[str, str]
    points: list[tuple[float, float]]


def _unavailable(exc: Exception, time_limit: float) -> errors.UnavailableError:
    if isinstance(exc, TimeoutError):
        return errors.UnavailableError("Prometheus", errors.Said("no_answer_within", seconds=time_limit))
    return errors.UnavailableError("Prometheus", f"{type(exc).__name__}: {exc}"[:200])


async def instant(base_url: str, query: str, *, time_limit: float) -> float | None:
    """One instant query on a session of its own (commands run rarely; the health report shares one)."""
    async with aiohttp.ClientSession() as session:
        return await instant_query(session, base_url, query, time_limit=time_limit)


async def range_query(
    base_url: str, query: str, *, start: float, end: float, step: float, time_limit: float
) -> list[Series]:
    """`GET /api/v1/query_range`: the matrix as Series (empty when the query matched nothing)."""
    url = base_url.rstrip("/") + "/api/v1/query_range"
    params = {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
    try:
        async with aiohttp.ClientSession() as session:
            timeout = aiohttp.ClientTimeout(total=time_limit)
            async with session.get(url, params=params, timeout=timeout) as resp:
                body = await resp.json(content_type=None)
    except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
        raise _unavailable(exc, time_limit) from exc
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error") if isinstance(body, dict) else None
        raise errors.TargetError("prometheus_refused", error=error)
    try:
        data = body["data"]
        if data["resultType"] != "matrix":
            raise errors.TargetError("prometheus_not_a_range", kind=repr(data["resultType"]))
        return [
            Series(
                {str(k): str(v) for k, v in item.get("metric", {}).items()},
                [(float(t), float(v)) for t, v in item["values"]],
            )
            for item in data["result"]
        ]
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise errors.TargetError("prometheus_not_understood", error=str(exc)) from exc
