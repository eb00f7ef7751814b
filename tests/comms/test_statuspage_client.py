"""The Statuspage client's search for an incident by its metadata, over real HTTP against the fake:
page by page through the unresolved incidents, and resolved ones are not found; a scheduled
maintenance is found in the page's upcoming then scheduled maintenances, whatever its status."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot import errors
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


async def test_a_refusal_is_a_phrase_with_the_answer_as_data_and_its_plain_text_is_what_is_stored(
    client: Statuspage, fake: StatuspageFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.fail(422, error="<!channel> Name is too long")
    with pytest.raises(DeliveryError) as refused:
        await client.create_incident("page1", {"name": "Outage"})
    assert refused.value.said == errors.Said("delivery_http_status", status=422, error="<!channel> Name is too long")
    assert refused.value.reason == "HTTP 422: <!channel> Name is too long"  # the timeline escapes it when shown

    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(DeliveryError) as unset:
        await client.create_incident("page1", {"name": "Outage"})
    assert unset.value.said == errors.Said("env_not_set", variable=KEY_ENV) and unset.value.temporary
    assert unset.value.reason == f"environment variable {KEY_ENV} is not set"


async def test_an_unreachable_statuspage_is_said_without_its_address(monkeypatch: pytest.MonkeyPatch) -> None:
    unused = socket.socket()
    unused.bind(("127.0.0.1", 0))
    port = unused.getsockname()[1]
    unused.close()  # nothing listens there now: the connection is refused
    monkeypatch.setenv(KEY_ENV, KEY)
    statuspage = Statuspage(f"http://127.0.0.1:{port}/v1/", api_key_env=KEY_ENV, timeout=5)
    try:
        with pytest.raises(DeliveryError) as down:
            await statuspage.create_incident("page1", {"name": "Outage"})
    finally:
        await statuspage.close()
    assert down.value.said == errors.Said("network_error", code="ECONNREFUSED") and down.value.temporary
    assert down.value.reason == "network error (ECONNREFUSED)" and str(port) not in down.value.reason


MAINTENANCE = {
    "name": "Scheduled maintenance of Mail Score API",
    "status": "scheduled",
    "scheduled_for": "2027-01-01T10:00:00+00:00",
    "scheduled_until": "2027-01-01T12:00:00+00:00",
    "component_ids": ["cmp1"],
    "scheduled_auto_in_progress": True,
}


async def test_a_scheduled_maintenance_carrying_our_key_is_found_upcoming_or_started_never_an_incident(
    client: Statuspage, fake: StatuspageFake
) -> None:
    await client.create_incident("page1", {"name": "Outage", "status": "investigating", "metadata": OURS})
    assert await client.find_scheduled("page1", OURS) is None  # an incident is not a maintenance
    assert fake.count("GET", "/incidents/scheduled", status=200) == 1  # nothing upcoming: every one searched
    window = {"runbook_bot": {"outbox_key": "8d0f3c1e-0000-4000-8000-000000000002"}}
    ours = await client.create_incident("page1", {**MAINTENANCE, "metadata": window})
    assert await client.find_unresolved("page1", window) is None  # maintenances are not in the unresolved list
    assert await client.find_scheduled("page1", window) == ours
    assert fake.count("GET", "/incidents/upcoming", status=200) == 2
    assert fake.count("GET", "/incidents/scheduled", status=200) == 1  # found upcoming: no further search

    fake.clock = lambda: datetime(2027, 1, 1, 10, 1, tzinfo=UTC)  # Statuspage started it on its own
    assert await client.find_scheduled("page1", window) == ours
    assert fake.incidents[ours]["status"] == "in_progress"
    with pytest.raises(DeliveryError) as missing:
        await client.find_scheduled("nopage", window)
    assert not missing.value.temporary and "HTTP 404" in missing.value.reason
