"""Prometheus instant queries (`GET /api/v1/query`), the same call the runbook's curl makes."""

from __future__ import annotations

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
    raise errors.TargetError(f"Prometheus returned an unsupported result type {kind!r}")


async def instant_query(
    session: aiohttp.ClientSession, base_url: str, query: str, *, time_limit: float
) -> float | None:
    url = base_url.rstrip("/") + "/api/v1/query"
    try:
        async with session.get(url, params={"query": query}, timeout=aiohttp.ClientTimeout(total=time_limit)) as resp:
            body = await resp.json(content_type=None)
    except TimeoutError as exc:
        raise errors.UnavailableError("Prometheus", f"no answer within {time_limit:g} s") from exc
    except aiohttp.ClientError as exc:
        raise errors.UnavailableError("Prometheus", errors.network_reason(exc)) from exc
    except ValueError as exc:
        raise errors.UnavailableError("Prometheus", "its answer is not JSON") from exc
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error") if isinstance(body, dict) else None
        raise errors.TargetError(f"Prometheus refused the query: {error or 'unexpected answer'}")
    try:
        return _first_value(body.get("data") or {})
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise errors.TargetError(f"Prometheus answer not understood: {exc}") from exc
