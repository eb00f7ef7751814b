"""PostgreSQL actions on a service's own database (runbooks 000, 001 and 002): connection count, the
sessions and their queries, readiness, cancelling or terminating long-running queries. The DSN comes
from the env var the catalog names."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from bot import errors
from bot.actions.kubernetes import cap
from bot.actions.redis import redis_actions
from bot.actions.registry import Action, ActionContext, ActionResult, Change, FunctionAction
from bot.actions.tables import Column, table
from bot.catalog_targets import PostgresTarget
from bot.targets import postgres
from bot.targets.env import from_env


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LongQueryParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    seconds: int = Field(default=300, ge=1, le=86400)  # a query running longer than this is long


def _dsn(ctx: ActionContext) -> str:
    target = ctx.target("postgres")
    if not isinstance(target, PostgresTarget):
        raise errors.UserError("no_postgres", service=ctx.service_name)
    return from_env(target.dsn_env, postgres.DEPENDENCY)


_LONG_QUERY_COLUMNS = (
    Column(errors.Said("column_pid"), 8),
    Column(errors.Said("column_user"), 16),
    Column(errors.Said("column_application"), 16),
    Column(errors.Said("column_running"), 8),
    Column(errors.Said("column_query")),
)


def _table(found: list[postgres.LongQuery]) -> str:
    """pid, user, application and how long it has run as they are; the query text masked and truncated."""
    rows = [(q.pid, q.user[:16], q.application[:16], _duration(q.seconds), q.query) for q in found]
    return cap("\n".join(table(_LONG_QUERY_COLUMNS, rows)))


def _change(query: postgres.LongQuery) -> Change:
    # `what` and `before` identify the query (pid and start time), so a confirmation can tell
    # whether the queries running now are the ones its preview showed.
    since = errors.Said("pg_running_since", since=f"{query.query_start:%H:%M:%S}")
    return Change(errors.Said("pg_query", pid=query.pid), since, "cancelled")


def _identities(expected: Mapping[str, Any] | None) -> list[tuple[int, datetime, datetime]]:
    if expected is None:
        raise errors.TargetError("cancel_needs_preview_list")
    return [
        (int(q["pid"]), datetime.fromisoformat(q["backend_start"]), datetime.fromisoformat(q["query_start"]))
        for q in expected.get("queries", [])
    ]


async def connections(ctx: ActionContext, _: NoParams) -> ActionResult:
    u = await postgres.usage(_dsn(ctx), time_limit=ctx.timeout_seconds)
    return ActionResult(
        errors.Said("pg_connections", in_use=u.in_use, max_connections=u.max_connections, ratio=u.ratio),
        data={"in_use": u.in_use, "max_connections": u.max_connections},
    )


async def cancel_long_queries(ctx: ActionContext, p: LongQueryParams) -> ActionResult:
    """The dry run lists the long queries (and records which, exactly); the run cancels only those."""
    return await _end_long_queries(ctx, p, _CANCEL)


@contextmanager
def _naming_the_database(ctx: ActionContext) -> Iterator[None]:
    """An unreachable database is one line saying whose, and which env var points at it."""
    try:
        yield
    except errors.UnavailableError as exc:
        target = ctx.target("postgres")
        env = target.dsn_env if isinstance(target, PostgresTarget) else None
        detail = " ".join(exc.detail.split())
        dependency = errors.Said("postgres_of", service=ctx.service_name, env=env)
        raise errors.UnavailableError(dependency, detail) from exc


def _duration(seconds: int) -> str:
    """kubectl's notation for how long something has run: 45s, 12m, 1h05m."""
    if seconds < 120:
        return f"{seconds}s"
    return f"{seconds // 60}m" if seconds < 7200 else f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


_ACTIVITY_COLUMNS = (
    Column(errors.Said("column_pid"), 8),
    Column(errors.Said("column_user"), 12),
    Column(errors.Said("column_application"), 14),
    Column(errors.Said("column_state"), 20),
    Column(errors.Said("column_waiting_on"), 22),
    Column(errors.Said("column_for"), 7),
    Column(errors.Said("column_query")),
)


def _activity_table(sessions: list[postgres.Session]) -> str:
    """pid, user, application, state, wait event and duration as they are; the query masked and truncated."""
    rows = [
        (s.pid, s.user[:12], s.application[:14], s.state[:20], s.wait_event[:22] or "-", _duration(s.seconds), s.query)
        for s in sessions
    ]
    return cap("\n".join(table(_ACTIVITY_COLUMNS, rows)))


async def activity(ctx: ActionContext, _: NoParams) -> ActionResult:
    with _naming_the_database(ctx):
        sessions = await postgres.activity(_dsn(ctx), time_limit=ctx.timeout_seconds)
    active = sum(1 for s in sessions if s.state == "active")
    waiting = sum(1 for s in sessions if s.wait_event and s.state == "active")
    return ActionResult(
        errors.Said("pg_activity", sessions=len(sessions), service=ctx.service_name, active=active, waiting=waiting),
        details=_activity_table(sessions) if sessions else None,
        data={"sessions": [s.__dict__ for s in sessions]},
    )


async def ready(ctx: ActionContext, _: NoParams) -> ActionResult:
    with _naming_the_database(ctx):
        r = await postgres.readiness(_dsn(ctx), time_limit=ctx.timeout_seconds)
    return ActionResult(
        errors.Said(
            "pg_ready",
            service=ctx.service_name,
            milliseconds=r.milliseconds,
            in_recovery=r.in_recovery,
            version=r.version,
        ),
        data={"in_recovery": r.in_recovery, "version": r.version},
    )


def _terminate_change(query: postgres.LongQuery) -> Change:
    # pid, session start and query start: exactly which query the preview saw, as the run matches it.
    since = errors.Said(
        "pg_connected_since", connected=f"{query.backend_start:%H:%M:%S}", since=f"{query.query_start:%H:%M:%S}"
    )
    return Change(errors.Said("pg_session", pid=query.pid), since, "terminated")


async def terminate_queries(ctx: ActionContext, p: LongQueryParams) -> ActionResult:
    """Runbook 002's pg_terminate_backend. The dry run lists the long queries with the start times that
    identify them; the run ends only the sessions still running those very queries."""
    return await _end_long_queries(ctx, p, _TERMINATE)


class _EndQueries(Protocol):
    def __call__(
        self, dsn: str, identities: Sequence[tuple[int, datetime, datetime]], *, time_limit: float
    ) -> Awaitable[list[postgres.LongQuery]]: ...


@dataclass(frozen=True)
class _Ending:
    """One of the two ways to end the long queries a preview listed: what ends them, and how it is said."""

    end: _EndQueries  # postgres.cancel_queries or postgres.terminate_queries
    said: Callable[[bool, int, int], errors.Said]  # (dry run, how many, seconds) -> the result's phrase
    change: Callable[[postgres.LongQuery], Change]
    key: str  # the data field listing the pids it ended


def _threshold(seconds: int) -> dict[str, int | None]:
    """A threshold in whole minutes is said in minutes, any other in seconds."""
    return {"minutes": None if seconds % 60 else seconds // 60, "seconds": seconds}


def _cancelled(dry_run: bool, count: int, seconds: int) -> errors.Said:
    return errors.Said("pg_cancelled", dry_run=dry_run, count=count, **_threshold(seconds))


def _terminated(dry_run: bool, count: int, seconds: int) -> errors.Said:
    return errors.Said("pg_terminated", dry_run=dry_run, count=count, **_threshold(seconds))


_CANCEL = _Ending(postgres.cancel_queries, _cancelled, _change, "cancelled")
_TERMINATE = _Ending(postgres.terminate_queries, _terminated, _terminate_change, "terminated")


async def _end_long_queries(ctx: ActionContext, p: LongQueryParams, how: _Ending) -> ActionResult:
    with _naming_the_database(ctx):
        dsn = _dsn(ctx)
        if ctx.dry_run:
            found = await postgres.long_queries(dsn, p.seconds, time_limit=ctx.timeout_seconds)
        else:
            found = await how.end(dsn, _identities(ctx.expected), time_limit=ctx.timeout_seconds)
    if not found:
        return ActionResult(errors.Said("pg_no_long_query", dry_run=ctx.dry_run, **_threshold(p.seconds)), no_op=True)
    done = [q for q in found if q.cancelled or ctx.dry_run]
    return ActionResult(
        how.said(ctx.dry_run, len(done), p.seconds),
        changes=tuple(how.change(q) for q in done),
        details=_table(found),
        data={
            "queries": [
                {"pid": q.pid, "backend_start": q.backend_start.isoformat(), "query_start": q.query_start.isoformat()}
                for q in found
            ],
            how.key: [q.pid for q in found if q.cancelled],
        },
    )


def postgres_actions() -> list[Action]:
    return [
        FunctionAction("postgres.connections", NoParams, False, connections, target="postgres"),
        FunctionAction("postgres.cancel_long_queries", LongQueryParams, True, cancel_long_queries, target="postgres"),
        FunctionAction("postgres.activity", NoParams, False, activity, target="postgres"),
        FunctionAction("postgres.ready", NoParams, False, ready, target="postgres"),
        FunctionAction("postgres.terminate_queries", LongQueryParams, True, terminate_queries, target="postgres"),
    ]


def database_actions() -> list[Action]:
    """Every action on the services' PostgreSQL and Redis (for build_registry)."""
    return [*postgres_actions(), *redis_actions()]
