"""Fixtures for the Slack fake's own tests: a started fake and an HTTP session to poke it raw."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from sandbox.slack_fake import SlackFake


@pytest.fixture
async def fake() -> AsyncIterator[SlackFake]:
    async with SlackFake() as started:
        yield started


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session
