"""Issue 3's done-when, over real HTTP: signed requests, the Slack fake, the sandbox cluster, real Postgres/Redis."""

from __future__ import annotations

import asyncio
import copy
import urllib.parse
import uuid

import asyncpg

from bot import metrics
from bot.app import BotProcess
from bot.ids import ActionId
from bot.store import audit
from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import RESPONSE_URL_METHOD, SlackFake
from tests.flows import (
    BACKEND,
    NS,
    ephemeral_text,
    final_state,
    preview_message,
    real_scale_patches,
    replicas,
)


def expired_count() -> float:
    labels = {"procedure": "scale", "state": "expired"}
    return metrics.REGISTRY.get_sample_value("runbook_bot_executions_total", labels) or 0.0


async def test_viewer_is_refused_and_nothing_is_created(carol: SlackUser, slack: SlackFake, bot: BotProcess) -> None:
    await carol.slash_command("scale backend 5")
    text = await ephemeral_text(slack, "U0CAROL", "may not run")
    assert "operator" in text
    assert bot.runtime is not None
    assert await bot.runtime.executions.recent(service="backend", limit=5) == []


async def test_operator_scale_previews_then_scales_once_after_confirm(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    before = replicas(cluster)
    await alice.slash_command("scale backend 5")
    message = await preview_message(slack)
    assert f"`{before}` → `5`" in str(message.blocks)
    assert replicas(cluster) == before, "the preview must not change anything"
    await alice.block_action(message, ActionId.CONFIRM.value)
    final = await final_state(slack, message, "succeeded")
    assert replicas(cluster) == 5
    assert len(real_scale_patches(cluster)) == 1
    assert ActionId.CONFIRM.value not in str(final.blocks), "a finished request has no buttons"
    # Progress re-rendered the same message more than once (the chat progress bar).
    assert len(slack.update_history("C0OPS", message.ts)) >= 3


async def test_fifty_concurrent_confirms_and_retries_scale_exactly_once(
    alice: SlackUser, bob: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    await alice.slash_command("scale backend 6")
    message = await preview_message(slack)
    answered = len(slack.calls_to(RESPONSE_URL_METHOD))
    clicks = [(alice if i % 2 else bob).block_action(message, ActionId.CONFIRM.value) for i in range(50)]
    replies = await asyncio.gather(*clicks)
    assert all(r.status == 200 for r in replies)
    await final_state(slack, message, "succeeded")
    # Every losing click is answered on its response_url; only once all 49 are answered is every
    # click done, so a duplicate (there must be none) would have reached the cluster by now.
    await slack.wait_for_calls(RESPONSE_URL_METHOD, count=answered + 49, timeout=30)
    assert len(real_scale_patches(cluster)) == 1
    assert replicas(cluster) == 6


async def test_another_operators_confirm_is_refused(
    alice: SlackUser, bob: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    before = replicas(cluster)
    await bob.slash_command("scale backend 4")
    message = await preview_message(slack)
    await alice.block_action(message, ActionId.CONFIRM.value)
    text = await ephemeral_text(slack, "U0ALICE", "Only")
    assert "U0BOB" in text
    assert real_scale_patches(cluster) == []
    assert replicas(cluster) == before


async def test_viewer_clicking_confirm_is_refused(
    alice: SlackUser, carol: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    await alice.slash_command("scale backend 4")
    message = await preview_message(slack)
    await carol.block_action(message, ActionId.CONFIRM.value)
    await ephemeral_text(slack, "U0CAROL", "may not confirm")
    assert real_scale_patches(cluster) == []


async def test_two_person_rollback_needs_a_different_approver(
    alice: SlackUser, bob: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    await alice.slash_command("restart backend")
    restart = await preview_message(slack)
    await alice.block_action(restart, ActionId.CONFIRM.value)
    await final_state(slack, restart, "succeeded")
    revision = cluster.deployment(NS, BACKEND)["metadata"]["annotations"]["deployment.kubernetes.io/revision"]

    await alice.slash_command("rollback backend")
    rollback = await preview_message(slack)
    assert rollback.ts != restart.ts
    await alice.block_action(rollback, ActionId.CONFIRM.value)
    await ephemeral_text(slack, "U0ALICE", "second person")
    assert cluster.deployment(NS, BACKEND)["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == revision

    await bob.block_action(rollback, ActionId.CONFIRM.value)
    final = await final_state(slack, rollback, "succeeded")
    assert "U0BOB" in str(final.blocks)
    new_revision = cluster.deployment(NS, BACKEND)["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
    assert int(new_revision) > int(revision)


async def test_expired_request_loses_its_buttons_and_cannot_be_confirmed(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster, bot: BotProcess, database_url: str
) -> None:
    await alice.slash_command("scale backend 7")
    message = await preview_message(slack)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE executions SET expires_at = now() - interval '1 second'")
    finally:
        await conn.close()
    await alice.block_action(message, ActionId.CONFIRM.value)
    await ephemeral_text(slack, "U0ALICE", "expired")
    assert bot.runtime is not None
    expired_before = expired_count()
    await bot.sweep_executions()
    assert expired_count() == expired_before + 1
    current = slack.message("C0OPS", message.ts)
    assert current is not None
    assert ActionId.CONFIRM.value not in str(current.blocks)
    assert "expired" in str(current.blocks)
    assert real_scale_patches(cluster) == []


async def test_execution_left_running_by_a_crash_is_marked_interrupted_not_rerun(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster, bot: BotProcess, database_url: str
) -> None:
    await alice.slash_command("scale backend 8")
    message = await preview_message(slack)
    stale_copy = copy.deepcopy(message)  # what a client that missed the update still shows
    conn = await asyncpg.connect(database_url)
    try:
        # What a replica killed mid-run leaves behind: running, owned by nobody alive, heartbeat gone stale.
        await conn.execute(
            "UPDATE executions SET state = 'running', owner = 'dead-replica', started_at = now(),"
            " heartbeat_at = now() - interval '1 minute'"
        )
    finally:
        await conn.close()
    assert bot.runtime is not None
    interrupted = await bot.recover_executions()
    assert [e.message_ts for e in interrupted] == [message.ts]
    current = slack.message("C0OPS", message.ts)
    assert current is not None
    assert "interrupted" in str(current.blocks).lower()
    await alice.block_action(stale_copy, ActionId.CONFIRM.value)
    await ephemeral_text(slack, "U0ALICE", "already interrupted")
    assert real_scale_patches(cluster) == []


async def test_postgres_down_refuses_changes_but_status_still_answers(
    alice: SlackUser,
    slack: SlackFake,
    cluster: SandboxCluster,
    bot: BotProcess,
    database_url: str,
    postgres_url: str,
) -> None:
    name = urllib.parse.urlsplit(database_url).path.lstrip("/")
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
        await alice.slash_command("scale backend 9")
        text = await ephemeral_text(slack, "U0ALICE", "PostgreSQL is unavailable")
        assert "Nothing was changed" in text
        await alice.slash_command("status backend")
        status = await slack.wait_for(lambda: slack.last_message("C0OPS"))
        assert BACKEND in str(status.blocks)
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
    assert real_scale_patches(cluster) == [], "only the preview's dry run may reach the cluster"
    assert bot.runtime is not None
    assert await bot.runtime.executions.recent(service="backend", limit=5) == [], "no half-made request"


async def test_audit_log_verifies_and_detects_an_edited_row(
    alice: SlackUser, slack: SlackFake, bot: BotProcess, database_url: str
) -> None:
    await alice.slash_command("scale backend 5")
    message = await preview_message(slack)
    await alice.block_action(message, ActionId.CONFIRM.value)
    await final_state(slack, message, "succeeded")
    assert bot.runtime is not None
    report = await audit.verify(bot.runtime.db)
    assert report.ok, report.problems
    kinds = []
    conn = await asyncpg.connect(database_url)
    try:
        kinds = [r["kind"] for r in await conn.fetch("SELECT kind FROM audit_log ORDER BY seq")]
        assert kinds == ["request", "preview", "confirmed", "step", "step", "outcome"]
        # Even the owner cannot UPDATE through the trigger; a superuser who disables it is caught by the chain.
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
        await conn.execute("UPDATE audit_log SET actor = 'U0MALLORY' WHERE kind = 'confirmed'")
    finally:
        await conn.close()
    broken = await audit.verify(bot.runtime.db)
    assert not broken.ok
    assert any("edited" in p for p in broken.problems)


async def test_hand_edited_button_value_is_refused(alice: SlackUser, slack: SlackFake, cluster: SandboxCluster) -> None:
    await alice.slash_command("scale backend 5")
    message = await preview_message(slack)
    await alice.block_action(message, ActionId.CONFIRM.value, value="'; DROP TABLE executions; --")
    await ephemeral_text(slack, "U0ALICE", "not one of mine")
    await alice.block_action(message, ActionId.CONFIRM.value, value=str(uuid.uuid4()))
    await ephemeral_text(slack, "U0ALICE", "does not exist")
    assert real_scale_patches(cluster) == []


def real_patches(cluster: SandboxCluster) -> list[object]:
    return [r for r in cluster.requests_to(f"/deployments/{BACKEND}", "PATCH") if "dryRun" not in r.query]


async def denial_reasons(bot: BotProcess) -> list[str]:
    assert bot.runtime is not None
    async with bot.runtime.db.acquire() as conn:
        rows = await conn.fetch("SELECT detail->>'reason' AS reason FROM audit_log WHERE kind = 'denied' ORDER BY seq")
    return [r["reason"] for r in rows]


async def test_cancel_button_closes_the_request_and_a_later_confirm_changes_nothing(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster, bot: BotProcess
) -> None:
    before = replicas(cluster)
    await alice.slash_command("scale backend 7")
    message = await preview_message(slack)
    as_first_shown = copy.deepcopy(message)  # a second client still showing the buttons

    await alice.block_action(message, ActionId.CANCEL.value)
    closed = await final_state(slack, message, "cancelled")
    assert ActionId.CONFIRM.value not in str(closed.blocks)
    answered = len(slack.calls_to(RESPONSE_URL_METHOD))
    await alice.block_action(as_first_shown, ActionId.CONFIRM.value)
    await slack.wait_for_calls(RESPONSE_URL_METHOD, count=answered + 1, timeout=15)  # the late confirm was answered

    assert real_scale_patches(cluster) == []
    assert replicas(cluster) == before
    assert bot.runtime is not None
    [execution] = await bot.runtime.executions.recent(service="backend", limit=5)
    assert execution.state.value == "cancelled"


async def test_an_approver_cannot_approve_their_own_two_person_request(
    bob: SlackUser, slack: SlackFake, cluster: SandboxCluster, bot: BotProcess
) -> None:
    await bob.slash_command("restart backend")  # a revision to roll back to
    restart = await preview_message(slack)
    await bob.block_action(restart, ActionId.CONFIRM.value)
    await final_state(slack, restart, "succeeded")
    revision = cluster.deployment(NS, BACKEND)["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
    patches = len(real_patches(cluster))
    await bob.slash_command("rollback backend")
    rollback = await slack.wait_for(
        lambda: (
            (m := slack.last_message("C0OPS")) and m.ts != restart.ts and ActionId.CONFIRM.value in str(m.blocks) and m
        )
    )

    answered = len(slack.calls_to(RESPONSE_URL_METHOD))
    await bob.block_action(rollback, ActionId.CONFIRM.value)
    await slack.wait_for_calls(RESPONSE_URL_METHOD, count=answered + 1, timeout=15)

    assert await denial_reasons(bot) == ["same_approver"]
    assert len(real_patches(cluster)) == patches
    assert cluster.deployment(NS, BACKEND)["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == revision
