"""A monitored service's PostgreSQL: connection usage, long-running queries, cancelling them.

One short-lived connection per call: these run once a day or on request, so a pool per
service would only hold connections the DBA would rather have free.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from bot import errors

DEPENDENCY = "PostgreSQL"

# Only client backends count: autovacuum and WAL writers are not "connections in use".
USAGE_SQL = """
SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS in_use,
       current_setting('max_connections')::int AS max_connections
"""

# 'active' rather than the runbook's `state != 'idle'`: an idle-in-transaction session's
# query_start is its last statement, and pg_cancel_backend would not end it anyway.
LONG_SQL = """
SELECT pid, usename, application_name, backend_start, query_start,
       EXTRACT(EPOCH FROM now() - query_start)::bigint AS seconds, left(query, 400) AS query
  FROM pg_stat_activity
 WHERE datname = current_database() AND state = 'active' AND backend_type = 'client backend'
   AND pid <> pg_backend_pid() AND query_start < now() - make_interval(secs => $1)
 ORDER BY query_start
"""


def _end_listed_queries(function: Literal["pg_cancel_backend", "pg_terminate_backend"]) -> str:
    """Exactly the queries a preview listed, in one statement: a pid counts only with the same
    backend_start (same session, not a reused pid) and query_start (same query, not the next one)."""
    return f"""
SELECT a.pid, a.usename, a.application_name, a.backend_start, a.query_start,
       EXTRACT(EPOCH FROM now() - a.query_start)::bigint AS seconds, left(a.query, 400) AS query,
       {function}(a.pid) AS cancelled
  FROM pg_stat_activity a
  JOIN unnest($1::int[], $2::timestamptz[], $3::timestamptz[]) AS e (pid, backend_start, query_start)
    ON a.pid = e.pid AND a.backend_start = e.backend_start AND a.query_start = e.query_start
 WHERE a.datname = current_database() AND a.state = 'active' AND a.pid <> pg_backend_pid()
 ORDER BY a.query_start
"""  # noqa: S608 - `function` is one of two literal names, never input


CANCEL_SQL = _end_listed_queries("pg_cancel_backend")
# Ends the whole session (runbook 002's pg_terminate_backend), for the same exact queries.
TERMINATE_SQL = _end_listed_queries("pg_terminate_backend")

QUERY_SHOWN_CHARS = 120
# Literals in query text are data (passwords, card numbers, e-mail addresses): masked before the text
# is shown or stored. Comments go too; they can hold anything.
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?(\*/|$)", re.DOTALL)
_DOLLAR_QUOTED = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*|)\$.*?(\$\1\$|$)", re.DOTALL)
# A backslash escapes the next character (E'' strings); in a standard string that over-masks, never under.
_QUOTED = re.compile(r"(?<![\w\"])[EeBbXxNn]?'(?:[^'\\]|''|\\.)*('|$)", re.DOTALL)
_NUMBER = re.compile(r"(?<![\w$.])[-+]?\d+(\.\d+)?([eE][-+]?\d+)?(?![\w.])")


def mask_query(text: str, limit: int = QUERY_SHOWN_CHARS) -> str:
    """Query text as it may be shown or stored: literals masked as `?`, whitespace folded, truncated."""
    masked = _COMMENTS.sub(" ", text)
    masked = _DOLLAR_QUOTED.sub("'?'", masked)
    masked = _QUOTED.sub("'?'", masked)
    masked = _NUMBER.sub("?", masked)
    folded = " ".join(masked.split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


@dataclass(frozen=True)
class Usage:
    in_use: int
    max_connections: int

    @property
    def ratio(self) -> float:
        return self.in_use / self.max_connections if self.max_connections else 0.0


@dataclass(frozen=True)
class LongQuery:
    pid: int
    user: str
    application: str
    backend_start: datetime  # with pid and query_start: which query this is, exactly
    query_start: datetime
    seconds: int
    query: str  # masked and truncated (mask_query): never the literals
    cancelled: bool = False

    @property
    def identity(self) -> tuple[int, datetime, datetime]:
        return self.pid, self.backend_start, self.query_start


def _long_query(row: asyncpg.Record, cancelled: bool = False) -> LongQuery:
    return LongQuery(
        pid=row["pid"],
        user=row["usename"] or "",
        application=row["application_name"] or "",
        backend_start=row["backend_start"],
        query_start=row["query_start"],
        seconds=int(row["seconds"]),
        query=mask_query(row["query"] or ""),
        cancelled=cancelled,
    )


@asynccontextmanager
async def connect(dsn: str, *, time_limit: float) -> AsyncIterator[asyncpg.Connection]:
    try:
        conn = await asyncpg.connect(dsn, timeout=time_limit, command_timeout=time_limit)
    except (OSError, TimeoutError) as exc:
        raise errors.UnavailableError(
            DEPENDENCY, errors.Said("cannot_connect", why=errors.network_reason(exc))
        ) from exc
    except asyncpg.PostgresError as exc:  # the server's own words (authentication, unknown database)
        why = f"{type(exc).__name__}: {exc}"[:200]
        raise errors.UnavailableError(DEPENDENCY, errors.Said("cannot_connect", why=why)) from exc
    except ValueError as exc:  # asyncpg's ClientConfigurationError is one, as is a bad port number
        raise errors.UnavailableError(DEPENDENCY, errors.Said("dsn_malformed")) from exc
    except asyncpg.InterfaceError as exc:
        raise errors.UnavailableError(
            DEPENDENCY, errors.Said("cannot_connect", why=errors.network_reason(exc))
        ) from exc
    try:
        yield conn
    except (TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise errors.UnavailableError(DEPENDENCY, f"{type(exc).__name__}: {exc}"[:200]) from exc
    finally:
        await asyncio.shield(conn.close(timeout=time_limit))


async def usage(dsn: str, *, time_limit: float) -> Usage:
    async with connect(dsn, time_limit=time_limit) as conn:
        row = await conn.fetchrow(USAGE_SQL)
    assert row is not None  # a SELECT without FROM always returns one row
    return Usage(int(row["in_use"]), int(row["max_connections"]))


async def long_queries(dsn: str, seconds: int, *, time_limit: float) -> list[LongQuery]:
    async with connect(dsn, time_limit=time_limit) as conn:
        rows = await conn.fetch(LONG_SQL, seconds)
    return [_long_query(r) for r in rows]


async def cancel_queries(
    dsn: str, identities: Sequence[tuple[int, datetime, datetime]], *, time_limit: float
) -> list[LongQuery]:
    """pg_cancel_backend on exactly these queries (pid, backend_start, query_start) that still run
    on this database (never our own); the ones found, each with whether it was cancelled."""
    if not identities:
        return []
    pids, backend_starts, query_starts = (list(column) for column in zip(*identities, strict=True))
    async with connect(dsn, time_limit=time_limit) as conn:
        rows = await conn.fetch(CANCEL_SQL, pids, backend_starts, query_starts)
    return [_long_query(r, bool(r["cancelled"])) for r in rows]


# Every session of this database but ours, the longest-running first: runbook 000's `pg_stat_activity`.
ACTIVITY_SQL = """
SELECT pid, usename, application_name, state, wait_event_type, wait_event,
       EXTRACT(EPOCH FROM now() - coalesce(query_start, backend_start))::bigint AS seconds, left(query, 400) AS query
  FROM pg_stat_activity
 WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
 ORDER BY state = 'active' DESC, coalesce(query_start, backend_start)
 LIMIT $1
"""
ACTIVITY_ROWS = 50


READY_SQL = "SELECT pg_is_in_recovery() AS in_recovery, current_setting('server_version') AS version"


@dataclass(frozen=True)
class Session:
    """One row of db-activity: who, which program, doing what, waiting on what, for how long."""

    pid: int
    user: str
    application: str
    state: str
    wait_event: str  # `Lock:transactionid`, or empty when not waiting
    seconds: int
    query: str  # masked and truncated (mask_query)


@dataclass(frozen=True)
class Readiness:
    """pg_isready, and what it cannot tell: a standby in recovery accepts reads only."""

    in_recovery: bool
    version: str
    milliseconds: int


async def activity(dsn: str, *, time_limit: float, limit: int = ACTIVITY_ROWS) -> list[Session]:
    async with connect(dsn, time_limit=time_limit) as conn:
        rows = await conn.fetch(ACTIVITY_SQL, limit)
    return [
        Session(
            pid=r["pid"],
            user=r["usename"] or "",
            application=r["application_name"] or "",
            state=r["state"] or "",
            wait_event=":".join(w for w in (r["wait_event_type"], r["wait_event"]) if w),
            seconds=int(r["seconds"] or 0),
            query=mask_query(r["query"] or ""),
        )
        for r in rows
    ]


async def readiness(dsn: str, *, time_limit: float) -> Readiness:
    started = asyncio.get_running_loop().time()
    async with connect(dsn, time_limit=time_limit) as conn:
        row = await conn.fetchrow(READY_SQL)
    assert row is not None  # a SELECT without FROM always returns one row
    elapsed = int((asyncio.get_running_loop().time() - started) * 1000)
    return Readiness(bool(row["in_recovery"]), str(row["version"]), elapsed)


async def terminate_queries(
    dsn: str, identities: Sequence[tuple[int, datetime, datetime]], *, time_limit: float
) -> list[LongQuery]:
    """pg_terminate_backend on the sessions running exactly these queries, if they still do; the ones
    found, each with whether it was terminated (`cancelled`)."""
    if not identities:
        return []
    pids, backend_starts, query_starts = (list(column) for column in zip(*identities, strict=True))
    async with connect(dsn, time_limit=time_limit) as conn:
        rows = await conn.fetch(TERMINATE_SQL, pids, backend_starts, query_starts)
    return [_long_query(r, bool(r["cancelled"])) for r in rows]
