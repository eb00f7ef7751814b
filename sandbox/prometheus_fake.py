"""A fake Prometheus HTTP API on loopback: `GET|POST /api/v1/query` and `/api/v1/query_range`.

It answers in Prometheus's JSON shapes (`{"status": "success", "data": {"resultType": "vector"|"matrix",
"result": [...]}}`, errors as `{"status": "error", "errorType": "bad_data", "error": ...}`) with plausible,
deterministic series. It does not evaluate PromQL: a query is recognised by what it measures (5xx share,
a latency quantile, `up`, websocket errors, pool availability) and the `service="…"` label it names; each
`Series` holds the level and the gentle wave around it. `hot` services run above the fail level of the
example catalog's error-rate check, so the health report and `/runbook query` have something red to show.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

MAX_POINTS: Final = 11_000  # Prometheus refuses a range of more than 11,000 points per series
_SERVICE_LABEL: Final = re.compile(r'service\s*=\s*"([^"]+)"')


@dataclass(frozen=True)
class Series:
    """A metric's level for one service: `base` with a wave of `swing` (a share of base) over an hour."""

    base: float
    swing: float = 0.15

    def at(self, timestamp: float, phase: float) -> float:
        return max(self.base * (1 + self.swing * math.sin(timestamp / 600 + phase)), 0.0)


def series_for(query: str, service: str | None, hot: frozenset[str]) -> Series | None:
    """The level a query measures; None for a query this fake does not know (an empty result, as
    Prometheus gives for a metric that does not exist)."""
    text = query.replace(" ", "")
    if text.startswith("1-"):  # `1 - avg(up{…})`, `1 - available / size`: the complement
        inner = series_for(text[2:].strip("()"), service, hot)
        return None if inner is None else Series(1 - inner.base, inner.swing * inner.base / max(1 - inner.base, 0.01))
    if "websocket" in text:
        return Series(0.004, swing=0.5)  # errors per second
    if 'status=~"5..' in text or "errors_total" in text:
        return Series(0.08 if service in hot else 0.004)
    if "histogram_quantile" in text:
        return Series(0.42)  # seconds
    if "pool" in text:
        return Series(0.62, swing=0.1)  # share of the pool still available
    if text.startswith(("up{", "up", "min(up", "sum(up", "avg(up")):
        return Series(1.0, swing=0.0)
    return None


@dataclass
class PrometheusFake:
    """Serves the Prometheus HTTP API on 127.0.0.1; `queries` records each query text it answered."""

    hot: frozenset[str] = frozenset({"backend"})
    queries: list[str] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("PrometheusFake.start() first")
        return self._url

    async def start(self) -> None:
        app = web.Application()
        for path, handler in (("/api/v1/query", self._query), ("/api/v1/query_range", self._query_range)):
            app.router.add_get(path, handler)
            app.router.add_post(path, handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self._url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _params(self, request: web.Request) -> dict[str, str]:
        params = dict(request.query)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.post()).items()})
        return params

    def _lookup(self, query: str) -> tuple[dict[str, str], Series] | None:
        self.queries.append(query)
        match = _SERVICE_LABEL.search(query)
        service = match.group(1) if match else None
        found = series_for(query, service, self.hot)
        if found is None:
            return None
        return ({"service": service} if service else {}), found

    async def _query(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        query = params.get("query", "").strip()
        if not query:
            return _error("bad_data", 'invalid parameter "query": 1:1: parse error: no expression found in input')
        at = _float(params.get("time")) or time.time()
        found = self._lookup(query)
        result: list[dict[str, Any]] = []
        if found is not None:
            labels, series = found
            result.append({"metric": labels, "value": [at, _sample(series.at(at, _phase(labels)))]})
        return web.json_response({"status": "success", "data": {"resultType": "vector", "result": result}})

    async def _query_range(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        query = params.get("query", "").strip()
        start, end, step = _float(params.get("start")), _float(params.get("end")), _duration(params.get("step"))
        if not query:
            return _error("bad_data", 'invalid parameter "query": 1:1: parse error: no expression found in input')
        if start is None or end is None or step is None or step <= 0:
            return _error("bad_data", 'invalid parameter "start", "end" or "step": cannot parse to a valid value')
        if end < start:
            return _error("bad_data", "end timestamp must not be before start time")
        if (end - start) / step > MAX_POINTS:
            return _error(
                "bad_data",
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query"
                " resolution (?step=XX)",
            )
        found = self._lookup(query)
        result: list[dict[str, Any]] = []
        if found is not None:
            labels, series = found
            phase = _phase(labels)
            points = int((end - start) // step) + 1
            values = [[start + i * step, _sample(series.at(start + i * step, phase))] for i in range(points)]
            result.append({"metric": labels, "values": values})
        return web.json_response({"status": "success", "data": {"resultType": "matrix", "result": result}})


def _phase(labels: dict[str, str]) -> float:
    """Each service's wave starts elsewhere, so two charts side by side do not look copied."""
    return sum(map(ord, labels.get("service", ""))) % 7 * 0.9


def _sample(value: float) -> str:
    # Prometheus sends sample values as strings, timestamps as floats.
    return f"{value:.6g}"


def _float(raw: str | None) -> float | None:
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def _duration(raw: str | None) -> float | None:
    """A step as Prometheus takes it: seconds (`60`) or a duration (`30s`, `5m`, `1h`)."""
    if raw is None:
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", raw.strip())
    if match is None:
        return None
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def _error(kind: str, message: str) -> web.Response:
    return web.json_response({"status": "error", "errorType": kind, "error": message}, status=400)
