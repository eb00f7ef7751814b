"""Checks against the sandbox cluster and real local HTTP targets, and the buttons they lead to."""

from __future__ import annotations

import json

import aiohttp

from bot import errors
from bot.catalog import Catalog
from bot.health.checks import Targets, run_checks
from bot.health.limits import Limits
from bot.health.model import State
from bot.ids import SUGGESTION_ACTION
from bot.k8s import Kube
from bot.settings import PROJECT_ROOT
from bot.slack.health_contexts import Occasion
from bot.slack.health_views import render
from bot.templating import Templates
from sandbox.blockkit import iter_elements, validate_message_blocks
from sandbox.cluster import SandboxCluster
from tests.health.conftest import HttpTargets, with_health_urls

PROCEDURES = {"restart", "rollback", "scale", "kill-long-queries"}

TEMPLATES = Templates(PROJECT_ROOT / "templates")


async def test_report_with_failing_deployment_and_failing_http_check_carries_their_buttons(
    catalog: Catalog, cluster: SandboxCluster, kube: Kube, http_targets: HttpTargets
) -> None:
    cluster.stall_rollouts("mail-score-production", "mail-score-backend")
    cluster.settle()
    test_catalog = with_health_urls(catalog, {"frontend": http_targets.url("/broken")}, http_targets.url("/ok"))
    async with aiohttp.ClientSession() as session:
        report = await run_checks(test_catalog, Targets(kube, session))
    by_name = {s.service: s for s in report.services}
    assert by_name["backend"].state == State.FAIL
    # Each result carries its figures, not a sentence: the phrase book words them.
    stuck = by_name["backend"].deciding.value  # type: ignore[union-attr]
    assert (stuck.key, stuck.fields["stuck"]) == ("health_kubernetes", True)
    assert by_name["frontend"].state == State.FAIL
    broken = by_name["frontend"].deciding.value  # type: ignore[union-attr]
    assert (broken.key, broken.fields["status"]) == ("health_http", 503)
    assert isinstance(broken.fields["latency_ms"], int)

    rendered = render(TEMPLATES, report, Occasion(scheduled_at="now"), procedures=PROCEDURES)
    _text, blocks = rendered.summary
    assert validate_message_blocks(blocks) == []
    buttons = [el for _, el in iter_elements(blocks) if el.get("type") == "button"]
    values = [json.loads(b["value"]) for b in buttons]
    assert {"p": "rollback", "a": "backend"} in values
    assert {"p": "restart", "a": "frontend"} in values
    assert all(SUGGESTION_ACTION.match(b["action_id"]) for b in buttons)
    summary_text = json.dumps(blocks)
    assert "backend" in summary_text
    assert "frontend" in summary_text
    assert "rollout stuck (ProgressDeadlineExceeded), " in summary_text
    assert "HTTP 503 in " in summary_text
    assert rendered.thread, "details go to a thread reply"


async def test_hanging_http_target_is_reported_unknown_within_its_timeout(
    catalog: Catalog, cluster: SandboxCluster, kube: Kube, http_targets: HttpTargets
) -> None:
    test_catalog = with_health_urls(catalog, {"backend": http_targets.url("/hang")}, http_targets.url("/ok"))
    # Generous enough that the answering target is answered in time on a loaded machine.
    limits = Limits(http_timeout=2.0, check_timeout=5.0)
    async with aiohttp.ClientSession() as session:
        report = await run_checks(test_catalog, Targets(kube, session, limits=limits), only=["backend", "frontend"])
    backend = {s.service: s for s in report.services}["backend"]
    http = next(c for c in backend.checks if c.check == "http")
    assert http.state == State.UNKNOWN
    assert "no answer within 2 s" in errors.plain(http.value)
    frontend = {s.service: s for s in report.services}["frontend"]
    assert frontend.state == State.OK


async def test_unreachable_kubernetes_is_unknown_not_a_crash(
    catalog: Catalog, cluster: SandboxCluster, kube: Kube, http_targets: HttpTargets
) -> None:
    cluster.inject_fault("/deployments/mail-score-backend", status=500, times=5)
    test_catalog = with_health_urls(catalog, {}, http_targets.url("/ok"))
    async with aiohttp.ClientSession() as session:
        report = await run_checks(test_catalog, Targets(kube, session), only=["backend"])
    kube_check = next(c for c in report.services[0].checks if c.check == "kubernetes")
    assert kube_check.state == State.UNKNOWN
    assert kube_check.value


def test_catalog_thresholds_set_every_limit_the_checks_use() -> None:
    """The catalog's health.thresholds and the checks' Limits cannot drift apart."""
    from dataclasses import asdict

    from bot.catalog import HealthThresholds
    from bot.health.limits import Limits

    assert asdict(Limits()) == HealthThresholds().model_dump()
    assert Limits(**HealthThresholds(restarts_warn=1).model_dump()).restarts_warn == 1
