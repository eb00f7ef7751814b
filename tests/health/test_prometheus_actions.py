"""`/runbook query`: a catalog-named Prometheus check run now, against the Prometheus fake."""

from __future__ import annotations

import pytest

from bot import errors
from bot.actions.prometheus import prometheus_actions, slug
from bot.actions.registry import ActionContext, ActionRegistry, ActionResult
from bot.catalog import Catalog
from sandbox.prometheus_fake import PrometheusFake


async def run_query(registry: ActionRegistry, catalog: Catalog, service: str, check: str) -> ActionResult:
    action = registry.get("prometheus.query")
    params = registry.validate_params(action.name, {"check": check})
    return await action.run(ActionContext(service, catalog.services[service]), params)


async def test_query_runs_the_catalog_query_and_judges_it_by_its_thresholds(
    prom: PrometheusFake, catalog: Catalog
) -> None:
    registry = ActionRegistry(prometheus_actions(prom.url))
    result = await run_query(registry, catalog, "backend", "error-rate")
    backend_error_rate = catalog.services["backend"].prometheus[0]
    assert prom.queries == [backend_error_rate.query]  # exactly the catalog's PromQL, nothing typed
    assert result.data["state"] == "fail"
    assert errors.plain(result.summary).startswith("error rate of backend = 0.0")
    assert "fail (above 0.05)" in errors.plain(result.summary)


async def test_a_check_is_found_by_its_name_or_its_slug(prom: PrometheusFake, catalog: Catalog) -> None:
    registry = ActionRegistry(prometheus_actions(prom.url))
    by_name = await run_query(registry, catalog, "backend", "p95 latency (s)")
    by_slug = await run_query(registry, catalog, "backend", "P95-Latency")
    assert by_name.data["state"] == by_slug.data["state"] == "ok"
    assert slug("db pool in use") == "db-pool-in-use"


async def test_unknown_check_lists_the_allowed_ones_and_queries_nothing(prom: PrometheusFake, catalog: Catalog) -> None:
    registry = ActionRegistry(prometheus_actions(prom.url))
    with pytest.raises(errors.UserError, match="Allowed: `error-rate`, `p95-latency`, `targets-down`"):
        await run_query(registry, catalog, "backend", "cpu")
    assert prom.queries == []


async def test_unreachable_prometheus_is_one_line_naming_it(catalog: Catalog) -> None:
    stopped = PrometheusFake()
    await stopped.start()
    url = stopped.url
    await stopped.stop()
    registry = ActionRegistry(prometheus_actions(url))
    with pytest.raises(errors.UnavailableError) as caught:
        await run_query(registry, catalog, "backend", "error-rate")
    assert caught.value.dependency == "Prometheus"
    assert "\n" not in str(caught.value)


async def test_without_prometheus_url_the_query_says_so(catalog: Catalog) -> None:
    registry = ActionRegistry(prometheus_actions(None))
    with pytest.raises(errors.UnavailableError, match="PROMETHEUS_URL is not set"):
        await run_query(registry, catalog, "backend", "error-rate")
