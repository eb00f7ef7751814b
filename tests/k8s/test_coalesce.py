"""Status reads shared between concurrent callers, reused briefly, never when they failed."""

from __future__ import annotations

import asyncio

import pytest

from bot.k8s.coalesce import Coalescer


async def test_concurrent_identical_reads_share_one_call_and_reuse_it_briefly() -> None:
    now = [100.0]
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return calls

    reads = Coalescer[int](clock=lambda: now[0])
    results = await asyncio.gather(*(reads.get("backend", 1.0, load) for _ in range(10)))
    assert results == [1] * 10
    now[0] += 0.5
    assert await reads.get("backend", 1.0, load) == 1
    now[0] += 1.0
    assert await reads.get("backend", 1.0, load) == 2
    assert await reads.get("frontend", 1.0, load) == 3


async def test_a_failed_read_is_not_reused() -> None:
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("API server hiccup")
        return "ok"

    reads = Coalescer[str]()
    with pytest.raises(RuntimeError):
        await reads.get("backend", 10.0, flaky)
    assert await reads.get("backend", 10.0, flaky) == "ok"
