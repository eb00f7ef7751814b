"""Helpers for the observability tests: scraping /metrics and capturing the production log format."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import aiohttp
import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families

from bot import logs
from bot.app import BotProcess

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def sample_key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return (name, frozenset(labels.items()))


async def fetch(bot: BotProcess, path: str) -> tuple[int, str, str]:
    """(status, content type, body) of a GET on the bot's web server."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{bot.port}{path}") as response,
    ):
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def scrape(bot: BotProcess) -> Samples:
    status, _, text = await fetch(bot, "/metrics")
    assert status == 200
    return {
        sample_key(s.name, **s.labels): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = sample_key(name, **labels)
    return after.get(key, 0.0) - before.get(key, 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of `name` over every label set that includes `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def wait_for_delta(bot: BotProcess, before: Samples, name: str, at_least: float = 1.0, **labels: str) -> Samples:
    """Scrape until `name{labels}` has grown by `at_least` (work after the ack finishes a bit later)."""
    for _ in range(50):
        after = await scrape(bot)
        if delta(before, after, name, **labels) >= at_least:
            return after
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name}{labels} did not grow by {at_least}")


@dataclass
class CapturedLogs:
    secrets: list[str]
    stream: io.StringIO

    @property
    def text(self) -> str:
        return self.stream.getvalue()


@pytest.fixture
def json_logs(bot: BotProcess) -> Iterator[CapturedLogs]:
    """The CLI's logging set-up (JSON lines, every configured secret redacted), to a buffer, restored afterwards.

    Only the destination differs from production (a buffer instead of stderr, which pytest swaps
    between phases); every processor, the SecretRedactor included, is the production one.
    """
    assert bot.runtime is not None
    settings = bot.runtime.settings
    secrets = settings.secret_values()
    saved, root = structlog.get_config(), logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    logs.configure(level="INFO", fmt="json", secrets=secrets, stream=stream)
    try:
        yield CapturedLogs(secrets, stream)
    finally:
        structlog.configure(**saved)
        root.handlers, root.level = saved_handlers, saved_level
