"""The Prometheus fake answers in Prometheus's JSON shapes, and the bot's client reads it as it would
read a real server (the health report's instant queries)."""

from __future__ import annotations

import aiohttp
import pytest

from bot import errors
from bot.catalog import load_catalog
from bot.settings import PROJECT_ROOT
from bot.targets import prometheus
from sandbox.prometheus_fake import PrometheusFake

ERROR_RATE = (
    'sum(rate(http_requests_total{status=~"5..",service="%s"}[5m])) / sum(rate(http_requests_total{service="%s"}[5m]))'
)


async def test_instant_query_is_a_vector_of_string_samples(prom: PrometheusFake, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{prom.url}/api/v1/query", params={"query": ERROR_RATE % ("frontend", "frontend")}) as r:
        body = await r.json()
    assert r.status == 200
    assert body["status"] == "success"
    assert body["data"]["resultType"] == "vector"
    [sample] = body["data"]["result"]
    assert sample["metric"] == {"service": "frontend"}
    timestamp, value = sample["value"]
    assert isinstance(timestamp, float)
    assert isinstance(value, str)
    assert 0 <= float(value) < 0.01


async def test_range_query_is_a_matrix_with_one_point_per_step(
    prom: PrometheusFake, http: aiohttp.ClientSession
) -> None:
    params = {"query": ERROR_RATE % ("backend", "backend"), "start": "1000", "end": "4600", "step": "60s"}
    async with http.post(f"{prom.url}/api/v1/query_range", data=params) as r:
        body = await r.json()
    assert body["data"]["resultType"] == "matrix"
    [series] = body["data"]["result"]
    assert len(series["values"]) == 61
    assert [v[0] for v in series["values"][:2]] == [1000.0, 1060.0]
    assert all(float(v[1]) > 0.05 for v in series["values"])  # backend runs over its fail threshold


@pytest.mark.parametrize(
    "params",
    [
        {"query": ""},
        {"query": "up", "start": "10", "end": "5", "step": "1"},
        {"query": "up", "start": "0", "end": "100000", "step": "1"},
        {"query": "up", "start": "0", "end": "10", "step": "soon"},
    ],
)
async def test_bad_range_parameters_are_400_bad_data(
    prom: PrometheusFake, http: aiohttp.ClientSession, params: dict[str, str]
) -> None:
    async with http.get(f"{prom.url}/api/v1/query_range", params=params) as r:
        body = await r.json()
    assert r.status == 400
    assert body["status"] == "error"
    assert body["errorType"] == "bad_data"


async def test_unknown_metric_is_an_empty_vector_not_an_error(
    prom: PrometheusFake, http: aiohttp.ClientSession
) -> None:
    assert await prometheus.instant_query(http, prom.url, "no_such_metric_total", time_limit=5) is None


async def test_every_example_check_has_data_and_only_backend_error_rate_fails(
    prom: PrometheusFake, http: aiohttp.ClientSession
) -> None:
    catalog = load_catalog(PROJECT_ROOT / "chatops.yml")
    failing = []
    for name, service in catalog.services.items():
        for check in service.prometheus:
            value = await prometheus.instant_query(http, prom.url, check.query, time_limit=5)
            assert value is not None, f"{name}: {check.name}"
            if check.fail_above is not None and value > check.fail_above:
                failing.append((name, check.name))
    assert failing == [("backend", "error rate")]


async def test_complement_queries_are_one_minus_the_inner_value(
    prom: PrometheusFake, http: aiohttp.ClientSession
) -> None:
    down = await prometheus.instant_query(http, prom.url, '1 - avg(up{service="backend"})', time_limit=5)
    assert down == 0


async def test_stopped_fake_is_reported_unavailable(http: aiohttp.ClientSession) -> None:
    fake = PrometheusFake()
    await fake.start()
    url = fake.url
    await fake.stop()
    with pytest.raises(errors.UnavailableError, match="Prometheus"):
        await prometheus.instant_query(http, url, "up", time_limit=5)
