"""Issue 14.5: replay protection holds while Redis is down (PostgreSQL keeps the record of signatures)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.app import BotProcess
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from tests.comms.helpers import confirmed, notices
from tests.conftest import MakeBot, user_of


@pytest.fixture
async def bot_without_redis(make_bot: MakeBot) -> BotProcess:
    return await make_bot(REDIS_URL="redis://127.0.0.1:9/0", REDIS_TIMEOUT="0.5")


def declare_form(slack: SlackFake, title: str) -> bytes:
    """One `/incident declare` exactly as Slack sends it, to be sent again byte for byte."""
    return urlencode(
        {
            "token": "sandbox-verification-token",
            "team_id": slack.config.team_id,
            "channel_id": "C0OPS",
            "channel_name": "ops",
            "user_id": "U0ALICE",
            "user_name": "alice",
            "command": "/incident",
            "text": f'declare P1 "{title}"',
            "api_app_id": slack.config.app_id,
            "response_url": slack.new_response_url("C0OPS", "U0ALICE"),
            "trigger_id": slack.new_trigger_id("U0ALICE"),
        }
    ).encode()


async def test_the_same_signed_declare_sent_three_times_with_redis_down_declares_one_incident(
    bot_without_redis: BotProcess, slack: SlackFake
) -> None:
    assert bot_without_redis.runtime is not None
    url = f"http://127.0.0.1:{bot_without_redis.port}/slack/events"
    async with user_of(bot_without_redis, slack, "U0ALICE") as alice:
        body = declare_form(slack, "Checkout is down")
        headers = {**alice.signed_headers(body), "Content-Type": "application/x-www-form-urlencoded"}
        async with aiohttp.ClientSession() as session:

            async def send() -> int:
                async with session.post(url, data=body, headers=headers) as response:
                    return response.status

            statuses = await asyncio.gather(send(), send(), send())
        assert sorted(statuses) == [200, 401, 401]
        await confirmed(slack, "U0ALICE", "Incident #1 declared")
        await check_nothing_more_is_declared(bot_without_redis, slack, alice)


async def check_nothing_more_is_declared(bot: BotProcess, slack: SlackFake, alice: SlackUser) -> None:
    # A later, genuine request is still answered: the next incident is #2, so the replays made none.
    await alice.slash_command('declare P3 "Later, genuine"', command="/incident")
    await confirmed(slack, "U0ALICE", "Incident #2 declared")
    assert bot.runtime is not None
    async with bot.runtime.db.acquire() as conn:
        titles = [r["title"] for r in await conn.fetch("SELECT title FROM incidents ORDER BY id")]
    assert titles == ["Checkout is down", "Later, genuine"]
    assert len(notices(slack, "Checkout is down")) == 1
