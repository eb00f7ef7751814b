"""Issue 15: malformed Alertmanager deliveries are a counted 400; what one delivery stores and queues is bounded."""

from __future__ import annotations

import asyncio

import aiohttp
import redis.asyncio as aioredis

from bot.app import BotProcess
from sandbox.slack_fake import SlackFake
from tests.alerts.conftest import TOKEN, Alertmanager, group
from tests.conftest import MakeBot
from tests.observability.conftest import delta, scrape


async def test_alertmanager_json_nested_five_thousand_deep_is_a_counted_400(
    alertmanager: Alertmanager, alert_bot: BotProcess
) -> None:
    before = await scrape(alert_bot)
    status, answer = await alertmanager.send(None, raw=b"[" * 5000)
    assert status == 400
    assert "nested" in answer["error"]
    after = await scrape(alert_bot)
    assert delta(before, after, "runbook_bot_alert_deliveries_total", outcome="malformed") == 1


async def test_a_huge_group_key_and_receiver_do_not_become_a_megabyte_in_redis(
    alertmanager: Alertmanager, alert_bot: BotProcess, slack: SlackFake, redis_url: str
) -> None:
    payload = {**group("HighErrorRate"), "groupKey": "k" * 400_000, "receiver": "r" * 400_000}
    status, _ = await alertmanager.send(payload)
    assert status == 200
    await slack.wait_for(lambda: slack.last_message("C0INCIDENTS"))
    prefix = alert_bot.settings.redis_prefix
    client = aioredis.Redis.from_url(redis_url)
    try:

        async def stored_sizes() -> dict[str, int]:
            return {k.decode(): await client.strlen(k) async for k in client.scan_iter(f"{prefix}kv:alerts:*")}

        sizes = await stored_sizes()
        for _ in range(50):  # the refs are written just after the post
            if any(":msg:" in k for k in sizes):
                break
            await asyncio.sleep(0.1)
            sizes = await stored_sizes()
    finally:
        await client.aclose()
    assert any(":msg:" in k for k in sizes), sizes
    assert max(sizes.values()) < 16 * 1024, sizes


async def test_queued_alert_groups_are_bounded_in_bytes_not_only_in_count(make_bot: MakeBot, slack: SlackFake) -> None:
    # The queue never drains here, so the bot's stop would wait out the whole default shutdown grace.
    bot = await make_bot(ALERTMANAGER_TOKEN=TOKEN, SHUTDOWN_GRACE_SECONDS="1")
    slack.fail_next("chat.postMessage", 500, count=10_000)  # nothing drains: every group stays queued
    big = "d" * 1900
    statuses = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        alertmanager = Alertmanager(session, f"http://127.0.0.1:{bot.port}/alerts/alertmanager")
        for n in range(40):
            payload = group(f"Alert{n}", alerts=20, annotations={f"a{i}": big for i in range(20)})
            status, _ = await alertmanager.send(payload)
            statuses.append(status)
    assert 200 in statuses
    assert 503 in statuses, "40 groups of ~0.8 MB were all queued"
