"""Redis actions on a service's own Redis (runbook 002: `LLEN bull:*`): queue depths."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from bot import errors
from bot.actions.registry import Action, ActionContext, ActionResult, FunctionAction
from bot.catalog_targets import RedisTarget
from bot.targets import redis
from bot.targets.env import from_env


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


async def queue_depth(ctx: ActionContext, _: NoParams) -> ActionResult:
    target = ctx.target("redis")
    name = ctx.service_name or "this service"
    if not isinstance(target, RedisTarget):
        raise errors.UserError(f"{name} has no Redis in the catalog (redis_url_env is not set).")
    if not target.queues:
        raise errors.UserError(f"{name} has no queues in the catalog (queues is empty).")
    url = from_env(target.url_env, redis.DEPENDENCY)
    depths = await redis.queue_depths(url, list(target.queues), time_limit=ctx.timeout_seconds)
    width = max(len(k) for k in depths)
    details = "\n".join(f"{key:<{width}}  {depth}" for key, depth in depths.items())
    return ActionResult(
        f"{sum(depths.values())} jobs in {len(depths)} queues of {name}",
        details=details,
        data={"queues": depths},
    )


def redis_actions() -> list[Action]:
    return [FunctionAction("redis.queue_depth", NoParams, False, queue_depth, target="redis", requires=("queues",))]
