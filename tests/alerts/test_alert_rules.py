"""The `alerts:` catalog section, routing and rendering, without a running bot."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from bot.alerts import routing
from bot.alerts.payload import MAX_ALERTS_KEPT, PayloadError, parse
from bot.catalog import Catalog
from bot.catalog_alerts import AlertRule
from bot.settings import PROJECT_ROOT
from bot.slack import alert_contexts, alert_views
from bot.templating import Templates
from bot.web_alerts import _authorized
from sandbox import blockkit
from tests.alerts.conftest import group

EVERYTHING = frozenset({"rollback", "status", "rollout-history", "restart", "top", "logs", "pods"})
TEMPLATES = Templates(PROJECT_ROOT / "templates")


def notification(**kwargs: Any) -> Any:
    alertname = kwargs.pop("alertname", "HighErrorRate")
    return parse(json.dumps(group(alertname, **kwargs)).encode())


def test_a_suggestion_may_only_fill_in_the_service() -> None:
    with pytest.raises(ValidationError, match="only"):
        AlertRule(alertname="X", suggest=["scale {service} {replicas}"])
    with pytest.raises(ValidationError, match="procedure name"):
        AlertRule(alertname="X", suggest=["--force {service}"])


def test_a_route_to_an_unknown_channel_is_refused_at_start_up(catalog: Catalog) -> None:
    data = catalog.model_dump()
    data["alerts"]["routes"] = [{"channel": "nowhere"}]
    with pytest.raises(ValidationError, match=r"alerts\.routes\.0\.channel"):
        Catalog.model_validate(data)


def test_a_service_label_that_is_not_in_the_catalog_earns_no_service_buttons(catalog: Catalog) -> None:
    # Label text goes into command text; only catalog service names may (no `backend --revision 1`).
    g = notification(service="backend --revision 1")
    assert routing.suggestions(catalog, g, EVERYTHING) == []


def test_critical_goes_to_incidents_and_the_rest_to_alerts(catalog: Catalog) -> None:
    assert routing.channel_for(catalog, notification()) == "C0INCIDENTS"
    assert routing.channel_for(catalog, notification(severity="warning")) == "C0ALERTS"


def test_only_http_links_are_links() -> None:
    assert alert_contexts.http_url("javascript:alert(1)") is None
    assert alert_contexts.http_url("slack://open") is None
    assert alert_contexts.http_url("https://a.example/x?a=1&b=2|x>") == "https://a.example/x?a=1&amp;b=2%7Cx%3E"


def test_an_empty_token_refuses_everyone() -> None:
    assert not _authorized("", "Bearer ")
    assert not _authorized("", None)
    assert _authorized("s3cret", "Bearer s3cret")
    assert not _authorized("s3cret", "Basic s3cret")


def test_a_huge_group_is_trimmed_and_its_message_is_valid_block_kit(catalog: Catalog) -> None:
    g = notification(alerts=300, description="d" * 50_000)
    assert len(g.alerts) == MAX_ALERTS_KEPT
    assert g.truncated_alerts == 300 - MAX_ALERTS_KEPT
    entry = alert_contexts.Entry(g, "critical", "backend", routing.suggestions(catalog, g, EVERYTHING))
    _, blocks = alert_views.render(TEMPLATES, [entry])
    assert blockkit.validate_message_blocks(blocks) == []
    assert "280 more" in json.dumps(blocks) or "295 more" in json.dumps(blocks)


def test_a_digest_of_twenty_groups_is_valid_block_kit(catalog: Catalog) -> None:
    entries = []
    for i in range(20):
        g = notification(alertname="PodCrashLooping", key=f"k{i}")
        entries.append(alert_contexts.Entry(g, "critical", "backend", routing.suggestions(catalog, g, EVERYTHING)))
    _, blocks = alert_views.render(TEMPLATES, entries)
    assert blockkit.validate_message_blocks(blocks) == []
    assert len(blocks) <= 50


def test_a_payload_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(PayloadError, match="object"):
        parse(b"[1, 2]")
