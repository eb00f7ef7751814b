"""PostgreSQL actions on a service's own database (runbooks 000 and 002): connection count and
cancelling long-running queries. The DSN comes from the env var the catalog names."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot import errors
from bot.actions.redis import redis_actions
from bot.actions.registry import Action, ActionContext, ActionResult, Change, FunctionAction
from bot.catalog_targets import PostgresTarget
from bot.targets import postgres
from bot.targets.env import from_env

DETAILS_LIMIT = 2500


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LongQueryParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    minutes: int = Field(default=5, ge=1, le=1440)


def _dsn(ctx: ActionContext) -> str:
    target = ctx.target("postgres")
    if not isinstance(target, PostgresTarget):
        name = ctx.service_name or "this service"
        raise errors.UserError(f"{name} has no PostgreSQL in the catalog (postgres_dsn_env is not set).")
    return from_env(target.dsn_env, postgres.DEPENDENCY)


def _table(found: list[postgres.LongQuery]) -> str:
    """pid, user, application and duration as they are; the query text masked and truncated."""
    rows = [f"{'PID':<8} {'USER':<16} {'APPLICATION':<16} {'RUNNING':<9} QUERY"]
    rows += [
        f"{q.pid:<8} {q.user[:16]:<16} {q.application[:16]:<16} {q.seconds // 60:>4} min  {q.query}" for q in found
    ]
    text = "\n".join(rows)
    return text if len(text) <= DETAILS_LIMIT else text[: DETAILS_LIMIT - 12] + "\n… truncated"


def _change(query: postgres.LongQuery) -> Change:
    # `what` and `before` identify the query (pid and start time), so a confirmation can tell
    # whether the queries running now are the ones its preview showed.
    return Change(f"query pid {query.pid}", f"running since {query.query_start:%H:%M:%S} UTC", "cancelled")


def _identities(expected: Mapping[str, Any] | None) -> list[tuple[int, datetime, datetime]]:
    if expected is None:
        raise errors.TargetError("cancelling queries needs the list its preview showed; run the command again")
    return [
        (int(q["pid"]), datetime.fromisoformat(q["backend_start"]), datetime.fromisoformat(q["query_start"]))
        for q in expected.get("queries", [])
    ]


async def connections(ctx: ActionContext, _: NoParams) -> ActionResult:
    u = await postgres.usage(_dsn(ctx), time_limit=ctx.timeout_seconds)
    return ActionResult(
        f"{u.in_use} of {u.max_connections} connections in use ({u.ratio:.0%})",
        data={"in_use": u.in_use, "max_connections": u.max_connections},
    )


async def cancel_long_queries(ctx: ActionContext, p: LongQueryParams) -> ActionResult:
    """The dry run lists the long queries (and records which, exactly); the run cancels only those."""
    dsn = _dsn(ctx)
    if ctx.dry_run:
        found = await postgres.long_queries(dsn, p.minutes, time_limit=ctx.timeout_seconds)
        verb = "Would cancel"
    else:
        found = await postgres.cancel_queries(dsn, _identities(ctx.expected), time_limit=ctx.timeout_seconds)
        verb = "Cancelled"
    if not found:
        return ActionResult(f"No query has been running for more than {p.minutes} min", no_op=True)
    done = [q for q in found if q.cancelled or ctx.dry_run]
    return ActionResult(
        f"{verb} {len(done)} queries running for more than {p.minutes} min",
        changes=tuple(_change(q) for q in done),
        details=_table(found),
        data={
            "queries": [
                {"pid": q.pid, "backend_start": q.backend_start.isoformat(), "query_start": q.query_start.isoformat()}
                for q in found
            ],
            "cancelled": [q.pid for q in found if q.cancelled],
        },
    )


def postgres_actions() -> list[Action]:
    return [
        FunctionAction("postgres.connections", NoParams, False, connections, target="postgres"),
        FunctionAction("postgres.cancel_long_queries", LongQueryParams, True, cancel_long_queries, target="postgres"),
    ]


def database_actions() -> list[Action]:
    """Every action on the services' PostgreSQL and Redis (for build_registry)."""
    return [*postgres_actions(), *redis_actions()]
