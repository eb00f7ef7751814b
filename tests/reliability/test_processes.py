"""Faults that need real processes: SIGKILL mid-rollout, and two replicas on one PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import pytest

from bot.ids import ActionId
from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import Message, SlackFake
from tests.conftest import SIGNING_SECRET
from tests.reliability.conftest import ServeFactory

# Real processes and real waits: scheduled first, so they overlap the short tests (tests/conftest.py).
pytestmark = pytest.mark.slow

NS, BACKEND = "mail-score-production", "mail-score-backend"


async def _preview(slack: SlackFake, after: int) -> Message:
    def found() -> Message | None:
        messages = slack.messages("C0OPS")
        return next((m for m in messages[after:] if ActionId.CONFIRM.value in str(m.blocks)), None)

    return await slack.wait_for(found, timeout=15)


async def test_sigkill_mid_rollout_is_reported_interrupted_and_not_rerun(
    serve_processes: ServeFactory, slack: SlackFake, cluster: SandboxCluster, database_url: str
) -> None:
    first = serve_processes()
    await first.start()
    cluster.hold_rollouts(NS, BACKEND)  # the rollout makes no progress: rollout_status keeps waiting
    async with SlackUser(first.url, slack, SIGNING_SECRET, user_id="U0ALICE", channel_id="C0OPS") as alice:
        await alice.slash_command("restart backend")
        message = await _preview(slack, 0)
        await alice.block_action(message, ActionId.CONFIRM.value)

        def waiting_for_rollout() -> bool:
            blocks = str(slack.message("C0OPS", message.ts).blocks)
            return "*running*" in blocks and "step 2 of 2" in blocks

        await slack.wait_for(waiting_for_rollout, 15)
        restarts = len([r for r in cluster.requests_to(f"/deployments/{BACKEND}", "PATCH") if "dryRun" not in r.query])
        first.kill()

    second = serve_processes()
    await second.start()

    def interrupted() -> bool:
        current = slack.message("C0OPS", message.ts)
        return current is not None and "*interrupted*" in str(current.blocks)

    await slack.wait_for(interrupted, timeout=20)
    await asyncio.sleep(1.0)
    again = len([r for r in cluster.requests_to(f"/deployments/{BACKEND}", "PATCH") if "dryRun" not in r.query])
    assert again == restarts == 1, "the restart ran once and was never re-run"
    conn = await asyncpg.connect(database_url)
    try:
        state = await conn.fetchval("SELECT state FROM executions")
        kinds = [r["kind"] for r in await conn.fetch("SELECT kind FROM audit_log ORDER BY seq")]
    finally:
        await conn.close()
    assert state == "interrupted"
    assert kinds[-1] == "interrupted"


async def test_two_replicas_run_each_confirmation_once(
    serve_processes: ServeFactory, slack: SlackFake, cluster: SandboxCluster
) -> None:
    replicas = [serve_processes(), serve_processes()]
    await asyncio.gather(*(r.start() for r in replicas))
    async with contextlib.AsyncExitStack() as stack:
        users = [
            await stack.enter_async_context(SlackUser(r.url, slack, SIGNING_SECRET, user_id=u, channel_id="C0OPS"))
            for r in replicas
            for u in ("U0ALICE", "U0BOB")
        ]
        for target in (4, 6, 5):
            seen = len(slack.messages("C0OPS"))
            await users[0].slash_command(f"scale backend {target}")
            message = await _preview(slack, seen)
            clicks = [users[i % 4].block_action(message, ActionId.CONFIRM.value) for i in range(20)]
            assert all(r.status == 200 for r in await asyncio.gather(*clicks))

            def done(ts: str = message.ts) -> bool:
                current = slack.message("C0OPS", ts)
                return current is not None and "*succeeded*" in str(current.blocks)

            await slack.wait_for(done, timeout=20)
            assert cluster.deployment(NS, BACKEND)["spec"]["replicas"] == target
    real = [r for r in cluster.requests_to(f"/deployments/{BACKEND}/scale", "PATCH") if "dryRun" not in r.query]
    assert len(real) == 3, "one scale per confirmation across both replicas"
