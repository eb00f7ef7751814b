"""Faults injected in-process: Slack answering 429/500/dropping, Redis gone, Kubernetes failing."""

from __future__ import annotations

import urllib.parse

import asyncpg
import pytest

from bot.app import BotProcess
from bot.ids import ActionId
from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from tests.conftest import MakeBot, user_of
from tests.flows import (
    BACKEND,
    ephemeral_text,
    final_state,
    preview_message,
    real_scale_patches,
    replicas,
)


async def test_slack_failing_during_progress_does_not_stop_the_execution(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    await alice.slash_command("scale backend 5")
    message = await preview_message(slack)
    slack.fail_next("chat.update", status=429, retry_after=1, count=2)
    slack.fail_next("chat.update", status=500, count=2)
    slack.drop_next("chat.update", count=1)
    await alice.block_action(message, ActionId.CONFIRM.value)
    await final_state(slack, message, "succeeded")
    assert replicas(cluster) == 5
    assert len(real_scale_patches(cluster)) == 1


async def test_kubernetes_error_fails_the_run_with_the_reason_and_frees_the_target(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    await alice.slash_command("scale backend 5")
    message = await preview_message(slack)
    cluster.inject_fault(f"/deployments/{BACKEND}/scale", status=403, times=1, method="PATCH")
    await alice.block_action(message, ActionId.CONFIRM.value)
    final = await final_state(slack, message, "failed")
    assert "may not patch" in str(final.blocks)
    # The lock was released: the next request previews instead of "being changed right now".
    await alice.slash_command("scale backend 6")
    second = await preview_message(slack)
    assert second.ts != message.ts


@pytest.fixture
async def bot_without_redis(make_bot: MakeBot) -> BotProcess:
    return await make_bot(REDIS_URL="redis://127.0.0.1:9/0", REDIS_TIMEOUT="0.5")


async def test_redis_down_refuses_changes_but_reads_still_answer(
    bot_without_redis: BotProcess, slack: SlackFake, cluster: SandboxCluster
) -> None:
    async with user_of(bot_without_redis, slack, "U0ALICE") as alice:
        await alice.slash_command("scale backend 5")
        text = await ephemeral_text(slack, "U0ALICE", "Redis is unavailable")
        assert "Nothing was changed" in text
        await alice.slash_command("status backend")
        status = await slack.wait_for(lambda: slack.last_message("C0OPS"))
    assert BACKEND in str(status.blocks)
    assert real_scale_patches(cluster) == []


async def test_a_click_naming_another_channels_request_is_refused(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    await alice.slash_command("scale backend 5")
    message = await preview_message(slack)
    # The same button, replayed from a channel the request was not made in.
    await alice.block_action(message, ActionId.CONFIRM.value, channel_id="C0INCIDENTS")
    await ephemeral_text(slack, "U0ALICE", "another channel")
    assert real_scale_patches(cluster) == []


async def test_a_cancel_click_naming_another_channels_request_is_refused(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    await alice.slash_command("scale backend 5")
    message = await preview_message(slack)
    await alice.block_action(message, ActionId.CANCEL.value, channel_id="C0INCIDENTS")
    await ephemeral_text(slack, "U0ALICE", "another channel")
    # The request is still pending in #ops: Confirm there runs it.
    await alice.block_action(message, ActionId.CONFIRM.value)
    await final_state(slack, message, "succeeded")
    assert replicas(cluster) == 5


@pytest.fixture
async def quick_recovery_bot(make_bot: MakeBot) -> BotProcess:
    return await make_bot(
        EXECUTION_HEARTBEAT_SECONDS="0.2", EXECUTION_STALE_SECONDS="1", SWEEP_SECONDS="0.5", DB_TIMEOUT="1"
    )


async def test_postgres_lost_mid_execution_stops_the_run_and_it_is_reported_not_rerun(
    quick_recovery_bot: BotProcess, slack: SlackFake, cluster: SandboxCluster, database_url: str, postgres_url: str
) -> None:
    name = urllib.parse.urlsplit(database_url).path.lstrip("/")
    cluster.hold_rollouts("mail-score-production", BACKEND)  # waits, without exceeding its deadline
    async with user_of(quick_recovery_bot, slack, "U0ALICE") as alice:
        await alice.slash_command("restart backend")
        message = await preview_message(slack)
        await alice.block_action(message, ActionId.CONFIRM.value)
        await slack.wait_for(lambda: "step 2 of 2" in str(slack.message("C0OPS", message.ts).blocks), 10)
        admin = await asyncpg.connect(postgres_url)
        try:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
            cluster.hold_rollouts("mail-score-production", BACKEND, held=False)
            # The rollout finishes, but its audit row cannot be written: the run stops, and says so.
            await final_state(slack, message, "failed")
            assert "PostgreSQL" in str(slack.message("C0OPS", message.ts).blocks)
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            await admin.close()
    # Once PostgreSQL is back, the sweep finds the run that never recorded its end and closes it.
    await final_state(slack, message, "interrupted")
    restarts = [r for r in cluster.requests_to(f"/deployments/{BACKEND}", "PATCH") if "dryRun" not in r.query]
    assert len(restarts) == 1
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT state FROM executions") == "interrupted"
    finally:
        await conn.close()
