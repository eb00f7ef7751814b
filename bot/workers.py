"""`runbook-bot serve --workers N`: N serving processes on one port (SO_REUSEPORT), one per core.

Python runs one thread of bytecode at a time, so one process uses one core. Every piece of
shared state (executions, locks, rate limits, the replay check) already lives in PostgreSQL and
Redis, so N worker processes behave as N replicas of the bot that happen to share a port: the
kernel spreads connections across them. This parent only starts them, passes shutdown on, and
stops them all when one dies (the container's supervisor restarts the whole set).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

import structlog

from bot import errors
from bot.embedded import EmbeddedServers
from bot.settings import Settings

log = structlog.get_logger(__name__)
STOP_GRACE_SECONDS = 30.0
WORKER_FLAG = "--reuse-port"  # internal: tells `serve` it is one of several workers on a shared port


def worker_env(settings: Settings, embedded: EmbeddedServers) -> dict[str, str]:
    """The workers' environment: in embedded mode, the URLs of the servers this parent started."""
    env = dict(os.environ)
    if settings.database_url is None:
        env["DATABASE_URL"] = embedded.postgres_url()
    if settings.redis_url is None:
        env["REDIS_URL"] = embedded.redis_url()
    return env


async def serve_workers(settings: Settings, workers: int) -> int:
    if settings.port == 0:
        raise errors.ConfigError(["environment variable PORT: --workers needs a fixed port, not 0"])
    embedded = EmbeddedServers(settings.data_dir)
    try:
        env = await asyncio.to_thread(worker_env, settings, embedded)
        argv = [sys.executable, "-m", "bot.cli", "serve", WORKER_FLAG]
        procs = [await asyncio.create_subprocess_exec(*argv, env=env) for _ in range(workers)]
        log.info("workers started", workers=workers, pids=[p.pid for p in procs])
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        exits = [asyncio.create_task(p.wait(), name=f"worker-{p.pid}") for p in procs]
        stopping = asyncio.create_task(stop.wait(), name="stop-signal")
        await asyncio.wait([stopping, *exits], return_when=asyncio.FIRST_COMPLETED)
        died = [p for p in procs if p.returncode is not None]
        if died and not stop.is_set():
            log.error("a worker exited; stopping the others", pid=died[0].pid, code=died[0].returncode)
        for proc in procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        await asyncio.wait(exits, timeout=STOP_GRACE_SECONDS)
        for proc in procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
        await asyncio.gather(*exits)
        stopping.cancel()
        return 0 if stop.is_set() else 1
    finally:
        await asyncio.to_thread(embedded.close)
