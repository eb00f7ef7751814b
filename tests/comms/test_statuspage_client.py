"""The Statuspage client's search for an incident by its metadata, over real HTTP against the fake:
page by page through the unresolved incidents, and resolved ones are not found."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.targets.outbound import DeliveryError
from bot.targets.statuspage import Statuspage
from sandbox.statuspage_fake import StatuspageFake

KEY_ENV, KEY = "CLIENT_TEST_STATUSPAGE_KEY", "sp-client-test-key"
OURS = {"runbook_bot": {"outbox_key": "8d0f3c1e-0000-4000-8000-000000000001"}}


@pytest.fixture
async def fake() -> AsyncIterator[StatuspageFake]:
    async with StatuspageFake(KEY) as started:
        started.add_page("page1", {"cmp1": "Mail Score API"})
        yield started


@pytest.fixture
async def client(monkeypatch: pytest.MonkeyPatch, fake: StatuspageFake) -> AsyncIterator[Statuspage]:
    monkeypatch.setenv(KEY_ENV, KEY)
    statuspage = Statuspage(fake.url, api_key_env=KEY_ENV, timeout=5)
    yield statuspage
    await statuspage.close()


async def test_the_incident_carrying_our_key_is_found_past_the_first_page_of_results(
    client: Statuspage, fake: StatuspageFake
) -> None:
    ours = await client.create_incident("page1", {"name": "Outage", "status": "investigating", "metadata": OURS})
    for n in range(120):  # newer incidents push ours onto the second page of results (newest first)
        other = {"runbook_bot": {"outbox_key": f"other-{n}"}}
        await client.create_incident("page1", {"name": f"Other {n}", "metadata": other})
    assert await client.find_unresolved("page1", OURS) == ours
    assert fake.count("GET", "/incidents/unresolved", status=200) == 2

    await client.update_incident("page1", ours, {"status": "resolved"})
    assert await client.find_unresolved("page1", OURS) is None  # a resolved incident is not adopted


async def test_the_search_is_refused_as_statuspage_refuses_it(client: Statuspage, fake: StatuspageFake) -> None:
    fake.fail(429, retry_after="7", error="Rate limit exceeded")
    with pytest.raises(DeliveryError) as limited:
        await client.find_unresolved("page1", OURS)
    assert limited.value.temporary and limited.value.retry_after == 7.0
    with pytest.raises(DeliveryError) as missing:
        await client.find_unresolved("nopage", OURS)
    assert not missing.value.temporary and "HTTP 404" in missing.value.reason
