"""Issue 20: the replay check of concurrent requests shares one pipelined Redis round trip (bot/coord.py),
with the same answers as one SET NX each, and fails closed for every request of a batch."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator

import pytest

from bot import errors
from bot.coord import Coordinator


@pytest.fixture
async def coord(redis_url: str) -> AsyncIterator[Coordinator]:
    c = Coordinator(redis_url, timeout=2, prefix=f"test-{uuid.uuid4().hex[:8]}:")
    yield c
    await c.close()


async def test_concurrent_checks_each_get_their_own_answer(coord: Coordinator) -> None:
    names = [f"sig:{i}" for i in range(20)]
    assert await asyncio.gather(*(coord.first_time(n, ttl_seconds=60) for n in names)) == [True] * 20
    again = await asyncio.gather(*(coord.first_time(n, ttl_seconds=60) for n in [*names[:5], "sig:new"]))
    assert again == [False] * 5 + [True]


async def test_the_same_signature_twice_in_one_batch_is_first_only_once(coord: Coordinator) -> None:
    answers = await asyncio.gather(*(coord.first_time("sig:replayed", ttl_seconds=60) for _ in range(5)))
    assert sorted(answers) == [False, False, False, False, True]


async def test_a_redis_outage_reaches_every_request_of_the_batch() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the socket is closed
    down = Coordinator(f"redis://127.0.0.1:{port}/0", timeout=1)
    try:
        results = await asyncio.gather(
            *(down.first_time(f"sig:{i}", ttl_seconds=60) for i in range(4)), return_exceptions=True
        )
    finally:
        await down.close()
    assert all(isinstance(r, errors.UnavailableError) for r in results), results


async def test_a_cancelled_first_request_leaves_no_other_waiting_and_none_counted_as_first(
    coord: Coordinator,
) -> None:
    sender = asyncio.create_task(coord.first_time("sig:a", ttl_seconds=60))
    joined = asyncio.create_task(coord.first_time("sig:b", ttl_seconds=60))
    await asyncio.sleep(0)  # both have queued their check; the first has not sent the batch yet
    sender.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sender
    with pytest.raises(errors.UnavailableError):
        await asyncio.wait_for(joined, timeout=10)  # the replay guard then asks PostgreSQL
    assert await coord.first_time("sig:b", ttl_seconds=60), "the unsent check was not recorded"
    assert await coord.first_time("sig:a", ttl_seconds=60)
