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
from bot.actions.kubernetes import age, cap
from bot.actions.registry import Action, ActionContext, ActionResult, Change, FunctionAction
from bot.catalog_targets import ComposeTarget
from bot.docker import Compose, Container

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


def containers_text(count: int) -> str:
    return f"{count} container{'' if count == 1 else 's'}"


def _names(containers: tuple[Container, ...]) -> str:
    return ", ".join(c.name for c in containers)


def compose_actions(compose: Compose) -> list[Action]:
    """The compose actions, bound to the Docker hosts of the catalog (built at the composition root)."""

    async def status(ctx: ActionContext, _: NoParams) -> ActionResult:
        target = _target(ctx)
        rows = await compose.status(target)
        now = datetime.now(UTC)
        table = [f"{'CONTAINER':<40} {'STATE':<10} {'HEALTH':<10} {'RESTARTS':<8} {'UP':<6} IMAGE"]
        for r in rows:
            up = age(int((now - r.started_at).total_seconds())) if r.started_at else "-"
            table.append(f"{r.name:<40} {r.state:<10} {r.health or '-':<10} {r.restarts:<8} {up:<6} {r.image}")
        running = sum(1 for r in rows if r.state == "running")
        return ActionResult(
            f"{target.service} in {target.project} on {target.host}: {running}/{len(rows)} containers running",
            details=cap("\n".join(table)),
            data={"containers": [r.name for r in rows], "running": running},
        )

    async def logs(ctx: ActionContext, p: LogsParams) -> ActionResult:
        target = _target(ctx)
        found = await compose.logs(target, tail=p.tail, since_seconds=p.since_seconds, grep=p.grep, max_bytes=LOG_BYTES)
        lines = found.text.splitlines()
        shown = "\n".join(lines[-60:])  # a Slack section holds about this much; the newest lines win
        more = found.truncated or len(lines) > 60
        return ActionResult(
            f"Last log lines of {target.service} from {containers_text(len(found.containers))}",
            details=cap(("… earlier lines left out\n" if more else "") + shown),
            data={"containers": list(found.containers), "lines": len(lines)},
        )

    async def restart(ctx: ActionContext, _: NoParams) -> ActionResult:
        target = _target(ctx)
        containers = await compose.must_have_containers(target)
        changes = tuple(Change(f"container {c.name}", c.state, "restarted") for c in containers)
        if not ctx.dry_run:
            await compose.restart(target, containers)
        verb = "Dry run: would restart" if ctx.dry_run else "Restarted"
        return ActionResult(
            f"{verb} {containers_text(len(containers))} of {target.service} (stop timeout {target.stop_timeout}s)",
            changes=changes,
            data={"containers": [c.name for c in containers]},
        )

    def _switch(verb: str, past: str, wanted: str) -> Callable[[ActionContext, NoParams], Awaitable[ActionResult]]:
        async def run(ctx: ActionContext, _: NoParams) -> ActionResult:
            target = _target(ctx)
            containers = tuple(c for c in await compose.must_have_containers(target) if c.state != wanted)
            if not containers:
                return ActionResult(f"every container of {target.service} is already {wanted}", no_op=True)
            if not ctx.dry_run:
                await (compose.stop if wanted == "exited" else compose.start)(target, containers)
            return ActionResult(
                f"{'Dry run: would ' + verb if ctx.dry_run else past} {_names(containers)}",
                changes=tuple(Change(f"container {c.name}", c.state, wanted) for c in containers),
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
            return ActionResult(f"{target.service} already has {containers_text(p.replicas)}", data=data, no_op=True)
        if not ctx.dry_run:
            await compose.scale(target, plan)
        changes = tuple(Change(f"container {n}", "absent", "created") for n in plan.create)
        changes += tuple(Change(f"container {c.name}", c.state, "removed") for c in plan.remove)
        verb = "Dry run: would scale" if ctx.dry_run else "Scaled"
        return ActionResult(
            f"{verb} {target.service} from {len(plan.current)} to {containers_text(p.replicas)}",
            changes=changes,
            data=data,
        )

    table: list[tuple[str, type[BaseModel], bool, Callable[[ActionContext, Any], Awaitable[ActionResult]]]] = [
        ("status", NoParams, False, status),
        ("logs", LogsParams, False, logs),
        ("restart", NoParams, True, restart),
        ("stop", NoParams, True, _switch("stop", "Stopped", "exited")),
        ("start", NoParams, True, _switch("start", "Started", "running")),
        ("scale", ScaleParams, True, scale),
    ]
    return [
        FunctionAction(f"compose.{name}", model, mutating, func, target="compose")
        for name, model, mutating, func in table
    ]
