"""Prometheus reads of a service's catalog-named checks: `/runbook query` (the value now).

Only the queries the catalog names can run: a user picks a check by name, never types PromQL. The
base URL is the deployment's Prometheus (PROMETHEUS_URL), the same one the health report asks.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from bot import errors
from bot.actions.registry import Action, ActionContext, ActionResult, FunctionAction
from bot.catalog import PrometheusCheck
from bot.targets import prometheus

DEPENDENCY = "Prometheus"


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
    name = ctx.service_name or "this service"
    checks = service.prometheus if service is not None else []
    if not checks:
        raise errors.UserError(f"{name} has no Prometheus checks in the catalog (prometheus is empty).")
    for check in checks:
        if slug(typed) == slug(check.name):
            return check
    allowed = ", ".join(f"`{slug(c.name)}`" for c in checks)
    raise errors.UserError(f"{name} has no Prometheus check `{typed}`. Allowed: {allowed}.")


def verdict(check: PrometheusCheck, value: float) -> str:
    """`fail (above 0.05)`, `warn (above 0.01)` or `ok` against the check's catalog thresholds."""
    if check.fail_above is not None and value > check.fail_above:
        return f"fail (above {check.fail_above:g})"
    if check.warn_above is not None and value > check.warn_above:
        return f"warn (above {check.warn_above:g})"
    return "ok"


class Runner:
    """The actions' view of the deployment's Prometheus; `base_url` None = not configured."""

    def __init__(self, base_url: str | None) -> None:
        self._base_url = base_url

    @property
    def base_url(self) -> str:
        if not self._base_url:
            raise errors.UnavailableError(DEPENDENCY, "PROMETHEUS_URL is not set")
        return self._base_url

    async def query(self, ctx: ActionContext, params: CheckParams) -> ActionResult:
        check = find_check(ctx, params.check)
        value = await prometheus.instant(self.base_url, check.query, time_limit=ctx.timeout_seconds)
        name = ctx.service_name or "this service"
        if value is None:
            return ActionResult(f"{check.name} of {name}: no data", details=check.query, data={"value": None})
        state = verdict(check, value)
        return ActionResult(
            f"{check.name} of {name} = {value:.4g}: {state}",
            details=check.query,
            data={"value": value, "state": state.split(" ")[0]},
        )


def prometheus_actions(base_url: str | None) -> list[Action]:
    runner = Runner(base_url)
    return [FunctionAction("prometheus.query", CheckParams, False, runner.query, target="prometheus")]
