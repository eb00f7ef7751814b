"""The Statuspage and PagerDuty fakes over real HTTP, seeded from the catalog, for any test directory."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.catalog import Catalog
from sandbox.pagerduty_fake import PagerDutyFake
from sandbox.statuspage_fake import StatuspageFake
from tests.comms.outbound_helpers import DEFAULT_ROUTING_KEY, MAILSCORE_ROUTING_KEY, PAGERDUTY_TOKEN, STATUSPAGE_KEY


@pytest.fixture
async def statuspage(catalog: Catalog) -> AsyncIterator[StatuspageFake]:
    async with StatuspageFake(STATUSPAGE_KEY) as fake:
        fake.seed_from_catalog(catalog)
        yield fake


@pytest.fixture
async def pagerduty() -> AsyncIterator[PagerDutyFake]:
    async with PagerDutyFake({DEFAULT_ROUTING_KEY, MAILSCORE_ROUTING_KEY}, PAGERDUTY_TOKEN) as fake:
        yield fake
