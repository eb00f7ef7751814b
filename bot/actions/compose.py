"""Compose actions (`compose.restart`, …) on a service's compose target, through bot.docker.

Previews name exactly the containers a run will restart, stop, start, create or remove; the
run acts on the containers it finds then (trust-runs' "preview is what runs" compares the two).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot import errors
from bot.actions import tables
from bot.actions.kubernetes import age, cap
from bot.actions.registry import Action, ActionContext, ActionResult, Change, FunctionAction
from bot.catalog_targets import ComposeTarget
from bot.docker import Compose, Container, ContainerStatus

LOG_BYTES = 64_000


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    pass


class LogsParams(Params):
    tail: int = Field(default=50, ge=1, le=5000)  # lines per container
    since_seconds: int | None = Field(default=None, ge=1)
    grep: str | None = Field(default=None, min_length=1, max_length=200)  # case-insensitive substring


class ScaleParams(Params):
    replicas: int = Field(ge=0, le=100)


def _target(ctx: ActionContext) -> ComposeTarget:
    target = ctx.target("compose")
    if not isinstance(target, ComposeTarget):
        raise errors.UserError("no_compose_target", service=ctx.service_name)
    return target


def _names(containers: tuple[Container, ...]) -> list[str]:
    return [c.name for c in containers]


def _container(name: str) -> errors.Said:
    return errors.Said("compose_container", container=name)


def _up(container: ContainerStatus, now: datetime) -> str:
    """How long it has run, as kubectl's AGE ("-" when it is not running)."""
    return age(int((now - container.started_at).total_seconds())) if container.started_at else "-"


STATUS_COLUMNS = (
    tables.Column(errors.Said("column_container"), 40),
    tables.Column(errors.Said("column_state"), 10),
    tables.Column(errors.Said("column_health"), 10),
    tables.Column(errors.Said("column_restarts"), 8),
    tables.Column(errors.Said("column_up"), 6),
    tables.Column(errors.Said("column_image")),
)


def compose_actions(compose: Compose) -> list[Action]:
    """The compose actions, bound to the Docker hosts of the catalog (built at the composition root)."""

    async def status(ctx: ActionContext, _: NoParams) -> ActionResult:
        target = _target(ctx)
        rows = await compose.status(target)
        now = datetime.now(UTC)
        table = tables.table(
            STATUS_COLUMNS,
            ((r.name, r.state, r.health or "-", r.restarts, _up(r, now), r.image) for r in rows),
        )
        running = sum(1 for r in rows if r.state == "running")
        return ActionResult(
            errors.Said(
                "compose_status",
                service=target.service,
                project=target.project,
                host=target.host,
                running=running,
                containers=len(rows),
            ),
            details=cap("\n".join(table)),
            data={"containers": [r.name for r in rows], "running": running},
        )

    async def logs(ctx: ActionContext, p: LogsParams) -> ActionResult:
        target = _target(ctx)
        found = await compose.logs(target, tail=p.tail, since_seconds=p.since_seconds, grep=p.grep, max_bytes=LOG_BYTES)
        lines = found.text.splitlines()
        shown = lines[-60:]  # a Slack section holds about this much; the newest lines win
        if found.truncated or len(lines) > 60:
            shown.insert(0, errors.plain(errors.Said("compose_earlier_lines_left_out")))
        return ActionResult(
            errors.Said("compose_logs", service=target.service, containers=len(found.containers)),
            details=cap("\n".join(shown)),
            data={"containers": list(found.containers), "lines": len(lines)},
        )

    async def restart(ctx: ActionContext, _: NoParams) -> ActionResult:
        target = _target(ctx)
        containers = await compose.must_have_containers(target)
        changes = tuple(Change(_container(c.name), c.state, "restarted") for c in containers)
        if not ctx.dry_run:
            await compose.restart(target, containers)
        return ActionResult(
            errors.Said(
                "compose_restarted",
                dry_run=ctx.dry_run,
                containers=len(containers),
                service=target.service,
                stop_timeout=target.stop_timeout,
            ),
            changes=changes,
            data={"containers": [c.name for c in containers]},
        )

    def _switch(wanted: str) -> Callable[[ActionContext, NoParams], Awaitable[ActionResult]]:
        async def run(ctx: ActionContext, _: NoParams) -> ActionResult:
            target = _target(ctx)
            containers = tuple(c for c in await compose.must_have_containers(target) if c.state != wanted)
            if not containers:
                return ActionResult(
                    errors.Said("compose_already_in_state", service=target.service, state=wanted), no_op=True
                )
            stopping = wanted == "exited"
            if not ctx.dry_run:
                await (compose.stop if stopping else compose.start)(target, containers)
            names = _names(containers)
            return ActionResult(
                errors.Said("compose_stopped", dry_run=ctx.dry_run, containers=names)
                if stopping
                else errors.Said("compose_started", dry_run=ctx.dry_run, containers=names),
                changes=tuple(Change(_container(c.name), c.state, wanted) for c in containers),
                data={"containers": [c.name for c in containers]},
            )

        return run

    async def scale(ctx: ActionContext, p: ScaleParams) -> ActionResult:
        target = _target(ctx)
        limits = ctx.service.replicas if ctx.service else None
        if limits and not limits.min <= p.replicas <= limits.max:
            raise errors.UserError(
                "containers_out_of_range", service=target.service, low=limits.min, high=limits.max, value=p.replicas
            )
        plan = await compose.plan_scale(target, p.replicas)
        data = {"before": len(plan.current), "after": p.replicas, "create": list(plan.create)}
        data["remove"] = [c.name for c in plan.remove]
        if not plan.create and not plan.remove:
            said = errors.Said("compose_already_scaled", service=target.service, containers=p.replicas)
            return ActionResult(said, data=data, no_op=True)
        if not ctx.dry_run:
            await compose.scale(target, plan)
        changes = tuple(Change(_container(n), "absent", "created") for n in plan.create)
        changes += tuple(Change(_container(c.name), c.state, "removed") for c in plan.remove)
        return ActionResult(
            errors.Said(
                "compose_scaled",
                dry_run=ctx.dry_run,
                service=target.service,
                before=len(plan.current),
                after=p.replicas,
            ),
            changes=changes,
            data=data,
        )

    table: list[tuple[str, type[BaseModel], bool, Callable[[ActionContext, Any], Awaitable[ActionResult]]]] = [
        ("status", NoParams, False, status),
        ("logs", LogsParams, False, logs),
        ("restart", NoParams, True, restart),
        ("stop", NoParams, True, _switch("exited")),
        ("start", NoParams, True, _switch("running")),
        ("scale", ScaleParams, True, scale),
    ]
    return [
        FunctionAction(f"compose.{name}", model, mutating, func, target="compose")
        for name, model, mutating, func in table
    ]
