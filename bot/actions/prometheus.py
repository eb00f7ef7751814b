"""Prometheus reads of a service's catalog-named checks: `/runbook query` (the value now) and
`/runbook graph` (a PNG chart of the last hour, 6 or 24 hours, thresholds drawn).

Only the queries the catalog names can run: a user picks a check by name, never types PromQL. The
base URL is the deployment's Prometheus (PROMETHEUS_URL), the same one the health report asks.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot import charts, errors
from bot.actions.registry import Action, ActionContext, ActionResult, Attachment, Chart, FunctionAction
from bot.catalog import PrometheusCheck
from bot.targets import prometheus

DEPENDENCY = "Prometheus"
WINDOWS = {"1h": 3600, "6h": 6 * 3600, "24h": 24 * 3600}
POINTS = 240  # per series: smooth at 800 px, far under Prometheus's 11,000-point limit
MAX_LINES = 10  # a query by label could return hundreds of series; a chart of ten is still readable


class CheckParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    check: str = Field(min_length=1, max_length=80)


def slug(name: str) -> str:
    """How a check is typed: `p95 latency (s)` → `p95-latency`, `error rate` → `error-rate`."""
    without_unit = re.sub(r"\([^)]*\)", "", name)
    return re.sub(r"[^a-z0-9]+", "-", without_unit.casefold()).strip("-")


def find_check(ctx: ActionContext, typed: str) -> PrometheusCheck:
    """The service's check named `typed` (by name or slug); unknown → the allowed ones, as typed."""
    service = ctx.service
    checks = service.prometheus if service is not None else []
    if not checks:
        raise errors.UserError("no_prometheus_checks", service=ctx.service_name)
    for check in checks:
        if slug(typed) == slug(check.name):
            return check
    allowed = [errors.Code(slug(c.name)) for c in checks]
    raise errors.UserError(
        "unknown_prometheus_check", service=ctx.service_name, check=errors.Code(typed), allowed=allowed
    )


class GraphParams(CheckParams):
    window: Literal["1h", "6h", "24h"] = "1h"


def chart_thresholds(check: PrometheusCheck) -> list[charts.Threshold]:
    """The check's thresholds as a chart draws them, each legend said by the phrase book."""
    return [
        charts.Threshold(errors.plain(errors.Said("chart_threshold", level=level, value=value)), value, color)
        for level, value, color in (("warn", check.warn_above, "#e0a800"), ("fail", check.fail_above, "#d32f2f"))
        if value is not None
    ]


def hours_before(lines: Sequence[charts.Line]) -> str:
    """The chart's time axis: hours before its newest sample (reads the same at any time of day)."""
    end = max((t for line in lines for t, _ in line.points), default=None)
    newest = None if end is None else f"{datetime.fromtimestamp(end, UTC):%Y-%m-%d %H:%M}"
    return errors.plain(errors.Said("chart_hours_before", newest=newest))


def crossed(check: PrometheusCheck, value: float) -> tuple[str, float | None]:
    """(`fail`, its threshold), (`warn`, its threshold) or (`ok`, None) against the check's catalog thresholds."""
    if check.fail_above is not None and value > check.fail_above:
        return "fail", check.fail_above
    if check.warn_above is not None and value > check.warn_above:
        return "warn", check.warn_above
    return "ok", None


class Runner:
    """The actions' view of the deployment's Prometheus; `base_url` None = not configured."""

    def __init__(self, base_url: str | None) -> None:
        self._base_url = base_url

    @property
    def base_url(self) -> str:
        if not self._base_url:
            raise errors.UnavailableError(DEPENDENCY, errors.Said("env_not_set", variable="PROMETHEUS_URL"))
        return self._base_url

    async def query(self, ctx: ActionContext, params: CheckParams) -> ActionResult:
        check = find_check(ctx, params.check)
        value = await prometheus.instant(self.base_url, check.query, time_limit=ctx.timeout_seconds)
        if value is None:
            said = errors.Said("prometheus_no_data", check=check.name, service=ctx.service_name)
            return ActionResult(said, details=check.query, data={"value": None})
        state, limit = crossed(check, value)
        return ActionResult(
            errors.Said(
                "prometheus_value",
                check=check.name,
                service=ctx.service_name,
                value=value,  # figures as data: the phrase shows them (4 significant digits, packaged)
                state=state,
                limit=limit,
            ),
            details=check.query,
            data={"value": value, "state": state},
        )

    async def graph(self, ctx: ActionContext, params: GraphParams) -> ActionResult:
        check = find_check(ctx, params.check)
        seconds = WINDOWS[params.window]
        end = time.time()
        found = await prometheus.range_query(
            self.base_url,
            check.query,
            start=end - seconds,
            end=end,
            step=seconds / POINTS,
            time_limit=ctx.timeout_seconds,
        )
        if not found:
            said = errors.Said(
                "prometheus_no_data_in", check=check.name, service=ctx.service_name, window=params.window
            )
            return ActionResult(said, details=check.query)
        lines = [
            charts.Line(", ".join(f"{k}={v}" for k, v in s.labels.items()) or check.name, s.points)
            for s in found[:MAX_LINES]
        ]
        title = errors.Said("prometheus_chart", check=check.name, service=ctx.service_name, window=params.window)
        png = await asyncio.to_thread(
            charts.line_chart, errors.plain(title), hours_before(lines), lines, chart_thresholds(check)
        )
        latest = found[0].points[-1][1] if found[0].points else None
        state, limit = crossed(check, latest) if latest is not None else ("", None)
        filename = "-".join(part for part in (ctx.service_name, slug(check.name), params.window) if part) + ".png"
        return ActionResult(
            title,  # the chart's own title (drawn in it, and its file's); the chat caption is a template
            details=check.query,
            data={"series": len(found), "points": sum(len(s.points) for s in found)},
            files=(Attachment(filename, title, png),),
            chart=Chart(check.name, ctx.service_name, params.window, len(found), latest, state, limit),
        )


def prometheus_actions(base_url: str | None) -> list[Action]:
    runner = Runner(base_url)
    return [
        FunctionAction("prometheus.query", CheckParams, False, runner.query, target="prometheus"),
        FunctionAction("prometheus.graph", GraphParams, False, runner.graph, target="prometheus"),
    ]
