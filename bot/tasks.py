"""Owned background tasks: named, referenced, failures logged, cancelled on shutdown (no fire-and-forget)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import structlog

from bot import errors

log = structlog.get_logger(__name__)


class TaskOwner:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: set[asyncio.Task[Any]] = set()  # periodic jobs: never "finish", cancelled first
        self._closing = False

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        if self._closing:
            coro.close()
            # Work arriving during shutdown is refused in words the user can act on; nothing started.
            raise errors.UnavailableError("runbook-bot", errors.Said("restarting"))
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def every(self, name: str, seconds: float, job: Callable[[], Awaitable[None]]) -> asyncio.Task[Any]:
        """Run `job` every `seconds` until shutdown; a failing run is logged and the loop goes on."""

        async def loop() -> None:
            while True:
                try:
                    await job()
                except asyncio.CancelledError:
                    raise
                except errors.UnavailableError as exc:
                    log.warning("periodic job skipped", job=name, reason=str(exc))  # next run retries
                except Exception:
                    log.exception("periodic job failed", job=name)
                await asyncio.sleep(seconds)

        task = self.spawn(name, loop())
        self._loops.add(task)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._loops.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("background task failed", task=task.get_name(), exc_info=exc)

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def drain(self, grace_seconds: float) -> None:
        """Let running work finish for a grace period, then cancel what is left and wait for it."""
        self._closing = True
        for loop in set(self._loops):
            loop.cancel()
        work = self._tasks - self._loops
        if work:
            await asyncio.wait(work, timeout=grace_seconds)
        await self.cancel_all()

    async def cancel_all(self) -> None:
        self._closing = True
        pending = set(self._tasks)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
