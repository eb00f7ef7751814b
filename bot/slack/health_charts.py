"""Charts for a health report: each failing Prometheus check gets its last 6 hours as a PNG in the
report's thread, so whoever reads the report sees since when it is red (issue 21)."""

from __future__ import annotations

import structlog

from bot import errors
from bot.actions.prometheus import GraphParams, Runner
from bot.actions.registry import ActionContext
from bot.catalog import Catalog
from bot.health.model import PROMETHEUS, Report, State
from bot.slack import uploads
from bot.slack.webapi import SlackWebApi

log = structlog.get_logger(__name__)

WINDOW = "6h"
MAX_CHARTS = 5  # a report with many red checks stays readable; the rest are one /runbook graph away
TIMEOUT_SECONDS = 15.0


def failing_checks(report: Report) -> list[tuple[str, str]]:
    """(service, check name) of each failing Prometheus check, in report order, at most MAX_CHARTS."""
    found = [
        (svc.service, c.metric)
        for svc in report.services
        for c in svc.checks
        if c.state == State.FAIL and c.check == PROMETHEUS
    ]
    return found[:MAX_CHARTS]


async def attach(
    slack: SlackWebApi, catalog: Catalog, prometheus_url: str | None, report: Report, channel: str, ts: str
) -> None:
    """Upload the charts in the report's thread; a chart that cannot be drawn is logged, never fatal:
    the report itself is already posted."""
    if not prometheus_url:
        return
    runner = Runner(prometheus_url)
    for service, check in failing_checks(report):
        ctx = ActionContext(service, catalog.services[service], timeout_seconds=TIMEOUT_SECONDS)
        try:
            result = await runner.graph(ctx, GraphParams(check=check, window=WINDOW))
            await uploads.upload_files(slack, channel, result.files, thread_ts=ts)
        except errors.BotError as exc:
            log.warning("health report chart skipped", service=service, check=check, error=str(exc))
