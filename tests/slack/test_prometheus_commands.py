"""`/runbook query` and `/runbook graph` over signed HTTP: the chart reaches Slack through the upload flow
(files.getUploadURLExternal → upload → files.completeUploadExternal) as a valid PNG in the result's thread."""

from __future__ import annotations

import pytest

from bot import errors
from bot.app import BotProcess
from bot.catalog import Catalog
from bot.health.model import PROMETHEUS, CheckResult, Report, ServiceHealth, State
from bot.slack import health_charts
from bot.slack.webapi import SlackWebApi
from sandbox.prometheus_fake import PrometheusFake
from sandbox.slack_fake import SlackFake
from tests.conftest import MakeBot, user_of

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def bot_with_prometheus(make_bot: MakeBot, prom: PrometheusFake) -> BotProcess:
    return await make_bot(PROMETHEUS_URL=prom.url)


async def test_graph_uploads_a_png_chart_into_the_result_thread(
    bot_with_prometheus: BotProcess, slack: SlackFake, prom: PrometheusFake, catalog: Catalog
) -> None:
    async with user_of(bot_with_prometheus, slack, "U0ALICE") as alice:
        await alice.slash_command("graph backend error-rate 6h")
    await slack.wait_for_calls("files.completeUploadExternal", timeout=30)
    [uploaded] = [f for f in slack.files.values() if f.completed]
    assert uploaded.content is not None
    assert uploaded.content.startswith(PNG_MAGIC)
    assert uploaded.filename == "backend-error-rate-6h.png"
    assert uploaded.channel_id == "C0OPS"
    result = next(m for m in slack.messages("C0OPS") if "error rate of backend, last 6h" in m.text)
    assert uploaded.thread_ts == result.ts  # the chart answers in the result's thread
    assert "fail (above 0.05)" in result.text
    assert slack.calls_to("files.getUploadURLExternal")
    assert prom.queries == [catalog.services["backend"].prometheus[0].query]  # the catalog's PromQL, once


async def test_query_with_an_unknown_check_lists_the_allowed_ones(
    bot_with_prometheus: BotProcess, slack: SlackFake, prom: PrometheusFake
) -> None:
    async with user_of(bot_with_prometheus, slack, "U0ALICE") as alice:
        await alice.slash_command("query backend cpu")
    text = await slack.wait_for(
        lambda: next((m.text for m in slack.ephemeral_messages("U0ALICE") if "Allowed" in m.text), None)
    )
    assert "`error-rate`, `p95-latency`, `targets-down`" in text
    assert prom.queries == []
    assert slack.calls_to("files.getUploadURLExternal") == []


async def test_query_with_prometheus_down_is_one_line_naming_it(make_bot: MakeBot, slack: SlackFake) -> None:
    stopped = PrometheusFake()
    await stopped.start()
    url = stopped.url
    await stopped.stop()
    bot = await make_bot(PROMETHEUS_URL=url)
    async with user_of(bot, slack, "U0ALICE") as alice:
        await alice.slash_command("query backend error-rate")
    text = await slack.wait_for(
        lambda: next((m.text for m in slack.ephemeral_messages("U0ALICE") if "Prometheus" in m.text), None),
        timeout=20,
    )
    assert "Prometheus is unavailable" in text


def _said(name: str, value: str) -> errors.Said:
    return errors.Said("health_prometheus", name=name, value=value)


async def test_health_report_attaches_a_chart_for_each_failing_prometheus_check(
    slack: SlackFake, prom: PrometheusFake, catalog: Catalog
) -> None:
    report = Report(
        (
            ServiceHealth(
                "backend",
                (
                    CheckResult("backend", PROMETHEUS, State.FAIL, _said("error rate", "0.08"), metric="error rate"),
                    CheckResult(
                        "backend", PROMETHEUS, State.OK, _said("p95 latency (s)", "0.4"), metric="p95 latency (s)"
                    ),
                    CheckResult("backend", "http", State.FAIL, errors.Said("health_http", status=503, latency_ms=12)),
                ),
            ),
        ),
        elapsed_seconds=1.0,
    )
    api = SlackWebApi(token=slack.token, base_url=slack.api_url, timeout=5)
    try:
        ts = await api.post_message("C0HEALTH", "Health report: fail")
        await health_charts.attach(api, catalog, prom.url, report, "C0HEALTH", ts)
    finally:
        await api.close()
    [chart] = [f for f in slack.files.values() if f.completed]
    assert chart.filename == "backend-error-rate-6h.png"  # the failing Prometheus check only
    assert chart.thread_ts == ts
    assert chart.content is not None and chart.content.startswith(PNG_MAGIC)
