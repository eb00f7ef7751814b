"""deploy/servicemonitor.yaml and deploy/alerts.yaml: well-formed, scraping /metrics, alerting on real metrics."""

from __future__ import annotations

import re
from typing import Any

import yaml

from bot import metrics
from bot.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"


def documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / name).read_text(encoding="utf-8")) if d]


def exposed_names() -> set[str]:
    names: set[str] = set()
    for family in metrics.REGISTRY.collect():
        names.add(family.name)
        names.update(s.name for s in family.samples)
    # Families without samples yet (no label set used) still expose these suffixes once used.
    for family in metrics.REGISTRY.collect():
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names.update(f"{family.name}_{s}" for s in ("bucket", "count", "sum"))
    return names


def test_service_monitor_scrapes_metrics_on_the_bot_port() -> None:
    by_kind = {d["kind"]: d for d in documents("servicemonitor.yaml")}
    service, monitor = by_kind["Service"], by_kind["ServiceMonitor"]
    assert service["spec"]["selector"] == {"app": "runbook-bot"}
    assert monitor["spec"]["selector"]["matchLabels"] == service["metadata"]["labels"]
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]


def test_alerts_cover_the_runbook_and_use_only_exposed_metrics() -> None:
    (rule,) = documents("alerts.yaml")
    assert rule["kind"] == "PrometheusRule"
    rules = [r for group in rule["spec"]["groups"] for r in group["rules"]]
    alerts = {r["alert"] for r in rules}
    assert {
        "RunbookBotNotReady",
        "RunbookBotSlowAcks",
        "RunbookBotExecutionsFailing",
        "RunbookBotSlackRateLimited",
    } <= alerts
    known = exposed_names()
    for r in rules:
        for name in re.findall(r"\brunbook_bot_[a-z_]+", r["expr"]):
            assert name in known, f"{r['alert']} uses {name}, which bot/metrics.py does not expose"
        assert r["labels"]["severity"] in ("critical", "warning")
        assert r["annotations"]["summary"]
