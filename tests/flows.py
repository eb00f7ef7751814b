"""What the flow tests wait for and look at: the preview, its final state, an ephemeral answer,
and what reached the sandbox cluster."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from bot.ids import ActionId
from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import RESPONSE_URL_METHOD, Message, SlackFake

# What a user hears when the follow-up queue is full (templates/reply_busy.yml.j2).
BUSY = "I'm busy with other requests right now; nothing was done. Try again in a moment."

NS, BACKEND = "mail-score-production", "mail-score-backend"


def replicas(cluster: SandboxCluster) -> int:
    return int(cluster.deployment(NS, BACKEND)["spec"]["replicas"])


def real_scale_patches(cluster: SandboxCluster) -> list[object]:
    return [r for r in cluster.requests_to(f"/deployments/{BACKEND}/scale", "PATCH") if "dryRun" not in r.query]


async def preview_message(slack: SlackFake) -> Message:
    def with_confirm() -> Message | None:
        message = slack.last_message("C0OPS")
        if message and ActionId.CONFIRM.value in str(message.blocks):
            return message
        return None

    return await slack.wait_for(with_confirm)


async def final_state(slack: SlackFake, message: Message, state: str) -> Message:
    def done() -> Message | None:
        current = slack.message("C0OPS", message.ts)
        return current if current and f"*{state}*" in str(current.blocks) else None

    return await slack.wait_for(done, timeout=15)


async def ephemeral_text(slack: SlackFake, user: str, needle: str) -> str:
    def found() -> str | None:
        for message in slack.ephemeral_messages(user):
            text = str(message.blocks) + message.text
            if needle in text:
                return text
        return None

    return await slack.wait_for(found)


async def double_click(slack: SlackFake, user: SlackUser, message: Message) -> None:
    """Two Confirm clicks of `user` at once (a double click); returns once both are answered: the winner
    by the run reaching `succeeded`, the other on its response_url."""
    answered = len(slack.calls_to(RESPONSE_URL_METHOD))
    replies = await asyncio.gather(*(user.block_action(message, ActionId.CONFIRM.value) for _ in range(2)))
    assert all(r.status == 200 for r in replies)
    await final_state(slack, message, "succeeded")
    await slack.wait_for_calls(RESPONSE_URL_METHOD, count=answered + 1, timeout=30)


async def step_summaries(database_url: str, procedure: str) -> list[str]:
    """What each run step of `procedure` reported, from the audit log: one entry per step that ran."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT detail->>'summary' AS summary FROM audit_log WHERE kind = 'step' AND procedure = $1 ORDER BY seq",
            procedure,
        )
    finally:
        await conn.close()
    return [str(r["summary"]) for r in rows]


@asynccontextmanager
async def postgres_down(postgres_url: str, database_url: str) -> AsyncIterator[None]:
    """The bot's database refuses connections and loses the ones it has, until the block ends."""
    name = urllib.parse.urlsplit(database_url).path.lstrip("/")
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
        yield
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
