"""The follow-up queue: fixed concurrency, a bounded queue that refuses when full, owned workers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from bot.followups import FollowUps, Work


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait for a condition with a deadline (the machine may be slow; never a fixed sleep)."""
    async with asyncio.timeout(within):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


async def test_no_more_than_the_configured_number_of_items_run_at_once() -> None:
    queue = FollowUps(workers=2, capacity=10)
    queue.start()
    running, most, release = 0, 0, asyncio.Event()
    finished: list[int] = []

    def work(n: int) -> Work:
        async def run() -> None:
            nonlocal running, most
            running += 1
            most = max(most, running)
            await release.wait()
            running -= 1
            finished.append(n)

        return run

    try:
        assert all(queue.offer(f"item-{n}", work(n)) for n in range(5))
        await until(lambda: running >= 2)
        await asyncio.sleep(0.05)  # room for a third item to start, were the limit broken
        assert (running, queue.queued) == (2, 3)
        release.set()
        await until(lambda: len(finished) == 5)
        assert most == 2
        assert sorted(finished) == [0, 1, 2, 3, 4]
    finally:
        await queue.close(1.0)


async def test_a_full_queue_refuses_work_and_runs_nothing_of_it() -> None:
    queue = FollowUps(workers=1, capacity=1)
    queue.start()
    release = asyncio.Event()
    ran: list[str] = []

    def work(name: str) -> Work:
        async def run() -> None:
            ran.append(name)
            await release.wait()

        return run

    try:
        assert queue.offer("first", work("first"))
        await until(lambda: bool(ran))
        assert queue.offer("second", work("second"))  # waits in the queue
        assert not queue.offer("third", work("third"))
        release.set()
        await until(lambda: len(ran) >= 2)
        await asyncio.sleep(0.05)
        assert ran == ["first", "second"]
    finally:
        await queue.close(1.0)


async def test_work_runs_in_its_requests_log_context_and_a_failure_does_not_stop_the_worker() -> None:
    queue = FollowUps(workers=1, capacity=5)
    queue.start()
    seen: list[object] = []

    async def fails() -> None:
        raise RuntimeError("boom")

    async def logs_context() -> None:
        seen.append(structlog.contextvars.get_contextvars().get("request_id"))

    try:
        structlog.contextvars.bind_contextvars(request_id="req-1")
        assert queue.offer("fails", fails)
        assert queue.offer("context", logs_context)
        structlog.contextvars.clear_contextvars()
        await until(lambda: bool(seen))
        assert seen == ["req-1"]
    finally:
        structlog.contextvars.clear_contextvars()
        await queue.close(1.0)


async def test_close_serves_what_was_queued_then_refuses_and_cancels_what_outlives_the_grace() -> None:
    queue = FollowUps(workers=1, capacity=5)
    queue.start()
    done: list[str] = []
    cancelled = asyncio.Event()

    async def quick() -> None:
        done.append("quick")

    async def endless() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    assert queue.offer("quick", quick)
    assert queue.offer("endless", endless)
    await queue.close(0.2)
    assert done == ["quick"]
    assert cancelled.is_set()
    assert not queue.offer("late", quick)


async def test_idle_only_once_everything_queued_has_run_to_the_end() -> None:
    queue = FollowUps(workers=1, capacity=10)
    queue.start()
    release = asyncio.Event()
    done: list[str] = []

    def work(name: str) -> Work:
        async def run() -> None:
            await release.wait()
            done.append(name)

        return run

    try:
        assert queue.idle
        assert queue.offer("first", work("first")) and queue.offer("second", work("second"))
        assert not queue.idle  # queued
        await until(lambda: queue.queued == 1)
        assert not queue.idle  # one running, one queued
        release.set()
        await until(lambda: queue.idle)
        assert done == ["first", "second"]
    finally:
        await queue.close(1)
