"""Fixtures of the Statuspage and PagerDuty tests: both fakes over real HTTP, a bot pointed at them, Alice."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import BotProcess
from sandbox.pagerduty_fake import PagerDutyFake
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from sandbox.statuspage_fake import StatuspageFake
from tests.comms.outbound_helpers import (
    outbound_env,
)
from tests.conftest import MakeBot, user_of


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, statuspage: StatuspageFake, pagerduty: PagerDutyFake) -> dict[str, str]:
    return outbound_env(monkeypatch, statuspage, pagerduty)


@pytest.fixture
async def pbot(make_bot: MakeBot, env: dict[str, str]) -> BotProcess:
    return await make_bot(**env)


@pytest.fixture
async def alice_p(pbot: BotProcess, slack: SlackFake) -> AsyncIterator[SlackUser]:
    async with user_of(pbot, slack, "U0ALICE") as user:
        yield user
