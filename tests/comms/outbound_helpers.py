"""Fixtures' helpers for the Statuspage and PagerDuty tests: the fakes' environment and outbox reads."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from bot.app import BotProcess
from sandbox.pagerduty_fake import PagerDutyFake
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import Message, SlackFake
from sandbox.statuspage_fake import StatuspageFake
from tests.comms.helpers import INCIDENTS, notices, shown

STATUSPAGE_KEY = "sp-test-key-0123"
DEFAULT_ROUTING_KEY = "pd-default-routing-key-000000001"
MAILSCORE_ROUTING_KEY = "pd-mailscore-routing-key-000001"
PAGERDUTY_TOKEN = "pd-rest-token-0123"
PREVIEW = "Status page preview"


def outbound_env(
    monkeypatch: pytest.MonkeyPatch, statuspage: StatuspageFake, pagerduty: PagerDutyFake
) -> dict[str, str]:
    """The keys in the environment (as the catalog names them) and the bot's settings pointing at the fakes."""
    monkeypatch.setenv("STATUSPAGE_API_KEY", STATUSPAGE_KEY)
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", DEFAULT_ROUTING_KEY)
    monkeypatch.setenv("PAGERDUTY_MAILSCORE_KEY", MAILSCORE_ROUTING_KEY)
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", PAGERDUTY_TOKEN)
    return {
        "STATUSPAGE_API_URL": statuspage.url,
        "PAGERDUTY_EVENTS_URL": pagerduty.events_url,
        "PAGERDUTY_API_URL": pagerduty.api_url,
        "OUTBOUND_TIMEOUT": "5",
        "OUTBOX_POLL_SECONDS": "0.05",
        "OUTBOX_BACKOFF_SECONDS": "0.05",
        "OUTBOX_BACKOFF_MAX_SECONDS": "0.2",
    }


async def outbox_rows(bot: BotProcess) -> list[dict[str, Any]]:
    assert bot.runtime is not None
    async with bot.runtime.db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id, incident_id, target, action, state, attempts, last_error, created_at, next_attempt_at"
            " FROM outbox ORDER BY id"
        )
    return [dict(r) for r in rows]


async def rows_when(bot: BotProcess, ready: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
    """The outbox rows once `ready(rows)` holds (polling the database, with a deadline)."""
    async with asyncio.timeout(15):
        while not ready(rows := await outbox_rows(bot)):  # noqa: ASYNC110 - PostgreSQL gives no notice of a change
            await asyncio.sleep(0.05)
    return rows


async def settled(bot: BotProcess, count: int) -> list[dict[str, Any]]:
    """The outbox once `count` rows exist and none is pending."""
    return await rows_when(bot, lambda rows: len(rows) >= count and all(r["state"] != "pending" for r in rows))


async def preview(slack: SlackFake, notice: Message, count: int = 1) -> Message:
    """The `count`-th status page preview in the incident's thread."""

    def found() -> Message | None:
        previews = [m for m in slack.thread_replies(INCIDENTS, notice.ts) if PREVIEW in m.text]
        return previews[count - 1] if len(previews) >= count else None

    return await slack.wait_for(found)


async def declare_public(user: SlackUser, slack: SlackFake, title: str, *, services: str = "backend") -> Message:
    """A P1 on the given services (the catalog posts P1s to the status page by default); its notice."""
    flags = " ".join(f"--service {name}" for name in services.split(","))
    await user.slash_command(f'declare P1 "{title}" {flags}', command="/incident")
    return await slack.wait_for(lambda: (notices(slack, title) or [None])[0])


async def timeline(user: SlackUser, slack: SlackFake, incident_id: int) -> str:
    """`/incident timeline <id>` as the user sees it (the outbox's entries worded by the template)."""
    before = len(slack.ephemeral_messages(user.user_id))
    await user.slash_command(f"timeline {incident_id}", command="/incident")
    heading = f"Timeline of #{incident_id}"
    answer = await slack.wait_for(
        lambda: next((m for m in slack.ephemeral_messages(user.user_id)[before:] if heading in m.text), None)
    )
    return shown(answer)
