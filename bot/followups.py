"""Work done after an ack, on a bounded queue served by a fixed number of workers.

Bolt runs a listener as a task and answers Slack as soon as it calls `ack()`; whatever the
listener does afterwards competes with the next requests' acks on the same event loop. Left
unbounded, a burst (a button storm during an incident, an alert flood) piles up follow-up work
and every ack waits behind it. Here the follow-up work of a request is queued instead, at most
`workers` items run at a time, and a full queue is refused up front, so the listener can answer
"busy, try again in a moment" inside the ack rather than let latency grow toward Slack's 3 s.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

log = structlog.get_logger(__name__)

Work = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class _Item:
    name: str
    work: Work
    context: contextvars.Context  # the request's log context (request_id, user, …) travels with its work


class FollowUps:
    """Start with `start()` inside the running loop; `close()` at shutdown lets queued work finish, then cancels."""

    def __init__(self, *, workers: int, capacity: int) -> None:
        self._workers = workers
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue(maxsize=capacity)
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._running = 0

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._serve(), name=f"follow-up-{i}") for i in range(self._workers)]

    def offer(self, name: str, work: Work) -> bool:
        """Queue `work`; False (nothing queued) when the queue is full or shutting down."""
        if self._closing or not self._tasks:
            return False
        try:
            self._queue.put_nowait(_Item(name, work, contextvars.copy_context()))
        except asyncio.QueueFull:
            log.warning("follow-up queue full; request refused", work=name, queued=self._queue.qsize())
            return False
        return True

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing running: every request acknowledged so far has had its answer."""
        return self._running == 0 and self._queue.empty()

    async def _serve(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:  # close(): the queue before this marker has been served
                return
            # Each item in its own task so it runs in its request's context; the worker only awaits it.
            # Cancelling the worker (at shutdown) cancels the item's task and waits for it to finish.
            self._running += 1
            try:
                await asyncio.create_task(_run(item), name=item.name, context=item.context)
            finally:
                self._running -= 1

    async def close(self, grace_seconds: float) -> None:
        """Refuse new work, serve what is queued for up to `grace_seconds`, then cancel the rest."""
        self._closing = True
        if not self._tasks:
            return
        try:
            async with asyncio.timeout(grace_seconds):
                for _ in self._tasks:
                    await self._queue.put(None)  # a worker exits on its marker, after the work queued before it
                await asyncio.gather(*self._tasks)  # on timeout, cancelling the gather cancels the workers
        except TimeoutError:
            log.warning("follow-up work cancelled at shutdown", queued=self._queue.qsize())
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []


async def _run(item: _Item) -> None:
    try:
        await item.work()
    except asyncio.CancelledError:
        raise
    except Exception:  # the work answers its own user; this is the last line, so one bad item never stops a worker
        log.exception("follow-up work failed", work=item.name)
