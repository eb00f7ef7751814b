"""Sharing one read between identical concurrent requests (and for a short while after).

Ten people typing `/runbook status backend` during an incident need one answer from the
API server, not ten; a reading a second old is as good as a fresh one for a human.
Failures are never reused: the next caller tries again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass
class _Entry(Generic[V]):
    at: float
    future: asyncio.Future[V]


class Coalescer(Generic[V]):
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[Hashable, _Entry[V]] = {}

    async def get(self, key: Hashable, max_age: float, load: Callable[[], Awaitable[V]]) -> V:
        now = self._clock()
        entry = self._entries.get(key)
        fresh = entry is not None and (not entry.future.done() or now - entry.at <= max_age)
        if entry is None or not fresh:
            new_entry = _Entry(now, asyncio.ensure_future(load()))
            self._entries[key] = new_entry

            def forget_failure(future: asyncio.Future[V]) -> None:
                failed = future.cancelled() or future.exception() is not None
                if failed and self._entries.get(key) is new_entry:
                    del self._entries[key]

            new_entry.future.add_done_callback(forget_failure)
            entry = new_entry
        # shield: one caller giving up (its request cancelled) must not cancel the others' read.
        return await asyncio.shield(entry.future)
