"""The PostgreSQL boundary: the asyncpg pool, migrations, and error translation.

Repositories (executions, audit, incidents, …) take a `Database` and use its
`acquire()`/`transaction()`; nothing else in the bot imports asyncpg.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from importlib import resources

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from bot import errors

# What repositories receive: a pooled connection (generic only in the stubs, so no subscript at run time).
Connection = PoolConnectionProxy

MIGRATIONS_PACKAGE = "bot.store.migrations"
# Any fixed number shared by every replica: only one of them migrates at a time.
MIGRATION_LOCK_ID = 0x72756E62


def _unavailable(exc: BaseException) -> errors.UnavailableError:
    # The server's own words are safe to show; a network error's text names the address.
    detail = str(exc) if isinstance(exc, asyncpg.PostgresError) and str(exc) else errors.network_reason(exc)
    return errors.UnavailableError("PostgreSQL", detail)


# What a lost or refused connection looks like from asyncpg; translated into UnavailableError.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.TooManyConnectionsError,
    # A pooled connection whose backend the server has just terminated, used in the millisecond before
    # asyncpg reads the FATAL: "cannot switch to state …; another operation (2) is in progress"
    # (tests/store/test_connection_cut.py). Nothing of ours shares a connection between tasks.
    asyncpg.exceptions.InternalClientError,
)


# Anything failing while *getting* a connection (refused, terminated, database closed to
# connections) means PostgreSQL is not usable right now.
ACQUIRE_ERRORS: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, asyncpg.PostgresError)


class Database:
    """An asyncpg pool with a timeout on every command and errors translated at the boundary."""

    def __init__(self, dsn: str, *, timeout: float, min_size: int = 1, max_size: int = 10) -> None:
        self._dsn = dsn
        self._timeout = timeout
        self._min_size = min_size
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise errors.UnavailableError("PostgreSQL", errors.Said("pool_not_open"))
        return self._pool

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self._dsn,
                min_size=self._min_size,
                max_size=self._max_size,
                command_timeout=self._timeout,
                timeout=self._timeout,
            )
        except CONNECTION_ERRORS as exc:
            raise _unavailable(exc) from exc

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                # close() waits for every connection to be released; a listener stuck in a query must not
                # hold shutdown forever, so after the timeout the connections are cut.
                await asyncio.wait_for(pool.close(), timeout=self._timeout)
            except TimeoutError:
                pool.terminate()

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Connection]:
        try:
            conn = await self.pool.acquire(timeout=self._timeout)
        except ACQUIRE_ERRORS as exc:
            raise _unavailable(exc) from exc
        try:
            yield conn
        except CONNECTION_ERRORS as exc:
            raise _unavailable(exc) from exc
        finally:
            # Releasing a connection the server cut (AdminShutdownError on its reset), or one whose
            # interrupted query is still being cancelled (InternalClientError on its reset), must not
            # replace the error the caller is handling with an untranslated one; the pool drops it either way.
            with contextlib.suppress(*CONNECTION_ERRORS):
                await self.pool.release(conn)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self.acquire() as conn, conn.transaction():
            yield conn

    async def ping(self) -> None:
        async with self.acquire() as conn:
            await conn.fetchval("SELECT 1", timeout=self._timeout)

    def pool_usage(self) -> tuple[int, int]:
        """(connections in use, pool size) for metrics."""
        if self._pool is None:
            return (0, 0)
        size = self._pool.get_size()
        return (size - self._pool.get_idle_size(), self._pool.get_max_size())

    async def migrate(self) -> list[str]:
        """Apply pending migrations in order, under an advisory lock; returns the versions applied."""
        applied: list[str] = []
        async with self.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
                )
                done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
                for version, sql in available_migrations():
                    if version in done:
                        continue
                    async with conn.transaction():
                        await conn.execute(sql)
                        await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
                    applied.append(version)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
        return applied


def available_migrations() -> list[tuple[str, str]]:
    """(version, sql) for every shipped migration, ordered by file name (`001_core.sql` → `001_core`)."""
    folder = resources.files(MIGRATIONS_PACKAGE)
    files = sorted((entry for entry in folder.iterdir() if entry.name.endswith(".sql")), key=lambda e: e.name)
    return [(entry.name.removesuffix(".sql"), entry.read_text(encoding="utf-8")) for entry in files]


async def create_database(server_url: str, *, prefix: str = "t", template: str | None = None) -> str:
    """Create a fresh database on the server at `server_url`, empty or a copy of `template`; its URL.

    For tests and benchmarks: each gets a database of its own (own rows, own audit chain). Copying a
    migrated template is several times cheaper than migrating each new database.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(server_url)
    try:
        copy = f' TEMPLATE "{template}"' if template else ""
        if template and conn.get_server_version() >= (15, 0):
            # PostgreSQL 15 copies a template block by block through the WAL by default; copying its
            # few small files costs the server about half the CPU (19 ms a database against 35 here).
            copy += " STRATEGY FILE_COPY"
        await conn.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await conn.close()
    parts = urllib.parse.urlsplit(server_url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
