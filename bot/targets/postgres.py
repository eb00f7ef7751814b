"""A monitored service's PostgreSQL: connection usage, long-running queries, cancelling them.

One short-lived connection per call: these run once a day or on request, so a pool per
service would only hold connections the DBA would rather have free.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

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
SELECT pid, usename, EXTRACT(EPOCH FROM now() - query_start)::bigint AS seconds, left(query, 200) AS query
  FROM pg_stat_activity
 WHERE datname = current_database() AND state = 'active' AND backend_type = 'client backend'
   AND pid <> pg_backend_pid() AND query_start < now() - make_interval(mins => $1)
 ORDER BY query_start
"""


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
    seconds: int
    query: str
    cancelled: bool = False


@asynccontextmanager
async def connect(dsn: str, *, time_limit: float) -> AsyncIterator[asyncpg.Connection]:
    try:
        conn = await asyncpg.connect(dsn, timeout=time_limit, command_timeout=time_limit)
    except (OSError, TimeoutError) as exc:
        raise errors.UnavailableError(DEPENDENCY, f"cannot connect: {errors.network_reason(exc)}") from exc
    except asyncpg.PostgresError as exc:  # the server's own words (authentication, unknown database)
        raise errors.UnavailableError(DEPENDENCY, f"cannot connect: {type(exc).__name__}: {exc}"[:200]) from exc
    except ValueError as exc:  # asyncpg's ClientConfigurationError is one, as is a bad port number
        raise errors.UnavailableError(DEPENDENCY, "its DSN in the environment is malformed") from exc
    except asyncpg.InterfaceError as exc:
        raise errors.UnavailableError(DEPENDENCY, f"cannot connect: {errors.network_reason(exc)}") from exc
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


async def long_queries(dsn: str, minutes: int, *, time_limit: float) -> list[LongQuery]:
    async with connect(dsn, time_limit=time_limit) as conn:
        rows = await conn.fetch(LONG_SQL, minutes)
    return [LongQuery(r["pid"], r["usename"] or "", int(r["seconds"]), r["query"] or "") for r in rows]


async def cancel_long_queries(dsn: str, minutes: int, *, time_limit: float) -> list[LongQuery]:
    """pg_cancel_backend on each query of this database running longer than `minutes` (never our own)."""
    async with connect(dsn, time_limit=time_limit) as conn:
        rows = await conn.fetch(LONG_SQL, minutes)
        found = []
        for r in rows:
            cancelled = bool(await conn.fetchval("SELECT pg_cancel_backend($1)", r["pid"]))
            found.append(LongQuery(r["pid"], r["usename"] or "", int(r["seconds"]), r["query"] or "", cancelled))
    return found
