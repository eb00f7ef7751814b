"""HTTP health endpoints: one GET, its status and latency."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiohttp

from bot import errors


@dataclass(frozen=True)
class Probe:
    status: int
    latency_ms: int


async def probe(session: aiohttp.ClientSession, url: str, *, time_limit: float) -> Probe:
    """GET `url`; any answer (even 500) is a Probe; no answer in time is UnavailableError."""
    started = time.monotonic()
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=time_limit), allow_redirects=False) as resp:
            await resp.read()  # the latency includes the body, as a user would see it
            return Probe(resp.status, round((time.monotonic() - started) * 1000))
    except TimeoutError as exc:
        raise errors.UnavailableError("HTTP", errors.Said("no_answer_within", seconds=time_limit)) from exc
    except aiohttp.ClientError as exc:
        raise errors.UnavailableError("HTTP", errors.network_reason(exc)) from exc
