"""Shared fixtures: real PostgreSQL and Redis (embedded unless DATABASE_URL/REDIS_URL are set),
the Slack fake and the sandbox cluster over real HTTP on 127.0.0.1, and a running bot."""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import shutil
import tempfile
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from bot import logs
from bot.app import BotProcess
from bot.catalog import Catalog, load_catalog
from bot.embedded import EmbeddedServers
from bot.settings import PROJECT_ROOT, Settings
from bot.store.db import Database, create_database
from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from tests.databases import BotDatabases

pytest_plugins = [
    "tests.data_world",  # a service's own database and Redis, for the data-command tests
    "tests.outbound_fakes",  # Statuspage and PagerDuty
]

SIGNING_SECRET = "test-signing-secret-0123456789"
CATALOG_PATH = PROJECT_ROOT / "chatops.yml"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The `slow` tests first: on xdist workers they then run beside the many short ones, instead of
    being handed out last and leaving the other workers idle at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_collection_finish() -> None:
    """What the imports and collection made lives as long as the session: kept out of the collector's full
    sweeps, which would walk it again every few tests (as `runbook-bot` does after start-up, bot/cli.py)."""
    gc.freeze()


@pytest.fixture(scope="session", autouse=True)
def _product_logging() -> None:
    """In-process bots log as `runbook-bot serve` does. structlog's unconfigured default prints every
    local variable of a traceback: the locals of a periodic job are the whole bot, and rendering them held
    the event loop past a request's timeout on a loaded CI machine."""
    logs.configure(level="INFO", fmt="console", secrets=[SIGNING_SECRET])


_OWN_CACHE_DIR: list[str] = []  # the cache folder this process made for the session (removed at its end)


def pytest_configure() -> None:
    """Every bot of the session, in-process or a subprocess, and the modules collection imports keep and read
    what start-up works out in one folder (bot/compiled.py): only the first works it out. xdist's workers
    inherit the folder of the process that starts them; a RUNBOOK_CACHE_DIR set outside is used as it is."""
    if "RUNBOOK_CACHE_DIR" not in os.environ:
        _OWN_CACHE_DIR.append(tempfile.mkdtemp(prefix="runbook-bot-compiled-"))
        os.environ["RUNBOOK_CACHE_DIR"] = _OWN_CACHE_DIR[-1]


def pytest_unconfigure() -> None:
    while _OWN_CACHE_DIR:  # (a process may run pytest more than once: mutation testing)
        os.environ.pop("RUNBOOK_CACHE_DIR", None)
        shutil.rmtree(_OWN_CACHE_DIR.pop(), ignore_errors=True)


@pytest.fixture(scope="session")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServers]:
    servers = EmbeddedServers(tmp_path_factory.mktemp("embedded"))
    yield servers
    servers.close()


@pytest.fixture(scope="session")
async def postgres_url(embedded: EmbeddedServers) -> str:
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return configured
    url = embedded.postgres_url()
    # This server lives for one test session and is thrown away: waiting for each of its thousands of
    # new databases to reach the disk buys nothing (a server given by DATABASE_URL is left as it is).
    conn = await asyncpg.connect(url)
    try:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            await conn.execute(f"ALTER SYSTEM SET {setting} = off")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()
    return url


@pytest.fixture(scope="session")
def redis_url(embedded: EmbeddedServers) -> str:
    return os.environ.get("REDIS_URL") or embedded.redis_url()


@pytest.fixture(scope="session")
async def migrated_template(postgres_url: str) -> str:
    """A database the bot's migrations were applied to, copied for each test (nothing connects to it after)."""
    url = await create_database(postgres_url, prefix="template")
    database = Database(url, timeout=30)
    await database.open()
    try:
        await database.migrate()
    finally:
        await database.close()
    return urllib.parse.urlsplit(url).path.lstrip("/")


_databases = BotDatabases()


@pytest.fixture
async def database_url(postgres_url: str, migrated_template: str) -> str:
    """Each test that starts a bot gets a database as the migrations leave it: no test sees another's rows
    or audit chain (the previous test's copy emptied when it changed nothing but rows; tests/databases.py)."""
    return await _databases.fresh(postgres_url, migrated_template)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(CATALOG_PATH)


@pytest.fixture
async def slack() -> AsyncIterator[SlackFake]:
    async with SlackFake() as fake:
        yield fake


@pytest.fixture
async def cluster(catalog: Catalog, tmp_path: Path) -> AsyncIterator[SandboxCluster]:
    async with SandboxCluster(step_seconds=0.05) as sandbox:
        sandbox.seed_from_catalog(catalog)
        yield sandbox


@functools.cache
def _catalog_contexts() -> tuple[str, ...]:
    """The shipped catalog's kubeconfig contexts, read once (every bot a test starts needs them)."""
    return tuple(SandboxCluster.catalog_contexts(load_catalog(CATALOG_PATH)))


def bot_env(
    *, slack: SlackFake, cluster: SandboxCluster, database_url: str, redis_url: str, tmp_path: Path
) -> dict[str, str]:
    """The environment of a bot wired to the fakes and the real databases (in-process or a subprocess)."""
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig", list(_catalog_contexts()))
    return {
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KUBECONFIG": str(kubeconfig),
        "CHATOPS_CONFIG": str(CATALOG_PATH),
        "RUNBOOK_DATA_DIR": str(tmp_path / "data"),
        "KUBE_TIMEOUT": "5",
        "SLACK_TIMEOUT": "5",
        "REDIS_PREFIX": f"test-{uuid.uuid4().hex[:8]}:",
    }


MakeBot = Callable[..., Awaitable[BotProcess]]


@pytest.fixture
async def make_bot(
    slack: SlackFake, cluster: SandboxCluster, database_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[MakeBot]:
    """Start `runbook-bot serve` in-process on a free loopback port; keyword arguments override env vars."""
    started: list[BotProcess] = []

    async def make(**env: str) -> BotProcess:
        base = bot_env(slack=slack, cluster=cluster, database_url=database_url, redis_url=redis_url, tmp_path=tmp_path)
        process = BotProcess(Settings.model_validate({**base, **env}), run_scheduler=False)
        started.append(process)
        await process.start()
        await process.serve_http("127.0.0.1", 0)
        return process

    yield make
    for process in started:
        await process.stop()


@pytest.fixture
async def bot(make_bot: MakeBot) -> BotProcess:
    """The bot with the defaults every test shares."""
    return await make_bot()


def user_of(bot: BotProcess, slack: SlackFake, user_id: str, channel_id: str = "C0OPS") -> SlackUser:
    """A signed-in Slack user typing and clicking at this bot (use as `async with`)."""
    return SlackUser(
        f"http://127.0.0.1:{bot.port}/slack/events", slack, SIGNING_SECRET, user_id=user_id, channel_id=channel_id
    )


@pytest.fixture
async def alice(bot: BotProcess, slack: SlackFake) -> AsyncIterator[SlackUser]:
    async with user_of(bot, slack, "U0ALICE") as user:
        yield user


@pytest.fixture
async def bob(bot: BotProcess, slack: SlackFake) -> AsyncIterator[SlackUser]:
    async with user_of(bot, slack, "U0BOB") as user:
        yield user


@pytest.fixture
async def carol(bot: BotProcess, slack: SlackFake) -> AsyncIterator[SlackUser]:
    async with user_of(bot, slack, "U0CAROL") as user:
        yield user


@pytest.fixture(autouse=True)
async def _no_leftover_tasks() -> AsyncIterator[None]:
    """A test that leaves tasks running fails (kopf's _no_asyncio_pending_tasks)."""
    before = set(asyncio.all_tasks())
    yield
    await asyncio.sleep(0)
    leftover = [t for t in asyncio.all_tasks() - before if not t.done() and t is not asyncio.current_task()]
    for task in leftover:
        task.cancel()
    assert not leftover, f"tasks left running: {[t.get_name() for t in leftover]}"
