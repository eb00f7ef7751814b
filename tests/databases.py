"""The database each bot test gets: in the state the migrations leave, with nothing another test left.

Copying the migrated template (CREATE DATABASE … TEMPLATE) costs PostgreSQL 0.1 to 0.2 s of CPU, more
than most bot tests cost themselves. So a process keeps the copy its previous test used and empties it
(TRUNCATE … RESTART IDENTITY: no rows, every id from 1 again), but only when that test left nothing
else behind: no session still connected to it, and the same schema and settings as the template
(schemas, tables, columns and defaults, constraints, indexes, triggers and whether they fire,
functions, views, rules, policies, grants, the database's settings and whether it takes connections,
the migrations applied). Otherwise (a test disabled a trigger, altered the database, left a replica
running, or anything failed) the test gets a new copy and the used one is left alone.
"""

from __future__ import annotations

import asyncio
import os
import urllib.parse

import asyncpg

from bot.store.db import create_database

# Everything of a database a test could change besides rows, as one digest. Read in the database
# itself; the template's is read once per process.
SCHEMA_DIGEST = r"""
WITH ours AS (
    SELECT oid FROM pg_namespace WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'
)
SELECT md5(string_agg(item, E'\n' ORDER BY item)) FROM (
    SELECT format('schema %s %s %s', nspname, nspowner, nspacl) FROM pg_namespace WHERE oid IN (SELECT oid FROM ours)
    UNION ALL
    SELECT format('relation %s %s %s %s %s %s %s', c.oid::regclass, c.relkind, c.relpersistence, c.relacl,
                  c.relrowsecurity, c.reloptions, c.relowner)
    FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM ours)
    UNION ALL
    SELECT format('column %s %s %s %s %s', a.attrelid::regclass, a.attname, format_type(a.atttypid, a.atttypmod),
                  a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace IN (SELECT oid FROM ours) AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
    FROM pg_constraint WHERE connamespace IN (SELECT oid FROM ours)
    UNION ALL
    SELECT format('index %s', pg_get_indexdef(indexrelid)) FROM pg_index
    WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace IN (SELECT oid FROM ours))
    UNION ALL
    SELECT format('trigger %s %s', tgenabled, pg_get_triggerdef(oid)) FROM pg_trigger
    WHERE NOT tgisinternal OR tgenabled <> 'O'
    UNION ALL
    SELECT format('function %s %s %s', oid::regprocedure, md5(prosrc), proacl) FROM pg_proc
    WHERE pronamespace IN (SELECT oid FROM ours)
    UNION ALL
    SELECT format('rule %s %s', tablename, definition) FROM pg_rules WHERE schemaname NOT IN ('pg_catalog')
    UNION ALL
    SELECT format('view %s %s', viewname, definition) FROM pg_views
    WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
    UNION ALL
    SELECT format('policy %s %s %s %s', tablename, policyname, qual, with_check) FROM pg_policies
    UNION ALL
    SELECT format('extension %s %s', extname, extversion) FROM pg_extension
    UNION ALL
    SELECT format('setting %s %s', setrole, setconfig) FROM pg_db_role_setting
    WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
    UNION ALL
    SELECT format('database %s %s %s', datallowconn, datconnlimit, datacl) FROM pg_database
    WHERE datname = current_database()
    UNION ALL
    SELECT format('large objects %s', count(*)) FROM pg_largeobject_metadata
    UNION ALL
    SELECT format('prepared transaction %s', gid) FROM pg_prepared_xacts WHERE database = current_database()
    UNION ALL
    SELECT format('migration %s', version) FROM schema_migrations
) AS items (item)
"""
OTHER_SESSIONS = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
SESSIONS_END_WITHIN = 2.0  # a closed pool's sessions end a moment after the client hangs up


def _url(server_url: str, name: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(server_url)._replace(path=f"/{name}"))


class BotDatabases:
    """Per process: the template's digest, and the copy the previous test used (None: make a new one)."""

    def __init__(self) -> None:
        self._template_digest: dict[str, str] = {}
        self._used: dict[tuple[int, str], str] = {}  # (process, server) -> the copy's URL

    async def fresh(self, server_url: str, template: str) -> str:
        """A database as the migrations leave it, which no other test of this session is using."""
        key = (os.getpid(), server_url)  # a forked process (mutation testing) must not share its parent's
        used = self._used.pop(key, None)
        url = None
        if used is not None and await self._emptied(used, await self._digest_of(server_url, template)):
            url = used
        if url is None:
            url = await create_database(server_url, template=template)
        self._used[key] = url
        return url

    async def _digest_of(self, server_url: str, template: str) -> str:
        if template not in self._template_digest:
            conn = await asyncpg.connect(_url(server_url, template))
            try:
                self._template_digest[template] = str(await conn.fetchval(SCHEMA_DIGEST))
            finally:
                await conn.close()
        return self._template_digest[template]

    async def _emptied(self, url: str, template_digest: str) -> bool:
        """Empty the copy a test used, if only its rows differ from the template's; False if anything else does."""
        try:
            conn = await asyncpg.connect(url, timeout=10)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False  # it refuses connections (a test's outage left on): a new copy
        try:
            deadline = asyncio.get_running_loop().time() + SESSIONS_END_WITHIN
            while await conn.fetchval(OTHER_SESSIONS):
                if asyncio.get_running_loop().time() > deadline:
                    return False  # a session outlived its test (a replica still running): leave it be
                await asyncio.sleep(0.05)
            if await conn.fetchval(SCHEMA_DIGEST) != template_digest:
                return False
            tables = [row["tablename"] for row in await conn.fetch(TABLES)]
            await conn.execute("SET lock_timeout = '5s'")
            await conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        finally:
            await conn.close()
        return True
