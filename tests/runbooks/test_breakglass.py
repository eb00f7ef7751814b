"""Issue 21: break-glass. `/runbook rollback <service> --emergency "reason"` lets a `breakglass` member
confirm their own two-person request; the approvers are told at once, and the audit row and the
message say it was an emergency. Over signed HTTP, against the sandbox cluster."""

from __future__ import annotations

import json

import asyncpg

from bot.app import BotProcess
from bot.ids import ActionId
from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import Message, SlackFake
from tests.flows import BACKEND, NS, ephemeral_text, final_state, preview_message

REASON = "checkout 5xx since 14:02 <!channel>"


def revision(cluster: SandboxCluster) -> int:
    return int(cluster.deployment(NS, BACKEND)["metadata"]["annotations"]["deployment.kubernetes.io/revision"])


async def restarted(alice: SlackUser, slack: SlackFake) -> Message:
    """A second revision to roll back from."""
    await alice.slash_command("restart backend")
    restart = await preview_message(slack)
    await alice.block_action(restart, ActionId.CONFIRM.value)
    return await final_state(slack, restart, "succeeded")


async def test_a_breakglass_member_rolls_back_alone_and_the_approvers_are_told_at_once(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster, database_url: str
) -> None:
    first = await restarted(alice, slack)
    before = revision(cluster)
    await alice.slash_command(f'rollback backend --emergency "{REASON}"')
    preview = await slack.wait_for(
        lambda: next(
            (m for m in slack.messages("C0OPS") if m.ts != first.ts and ActionId.CONFIRM.value in str(m.blocks)),
            None,
        )
    )
    assert "Emergency (break-glass)" in str(preview.blocks)
    await alice.block_action(preview, ActionId.CONFIRM.value)
    final = await final_state(slack, preview, "succeeded")
    assert revision(cluster) > before
    shown = json.dumps(final.blocks)
    assert "Emergency (break-glass), no second approver" in shown
    assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown, "the reason is escaped"

    notices = slack.thread_replies("C0OPS", preview.ts)
    assert len(notices) == 1, "the approvers are told once"
    notice = json.dumps(notices[0].blocks)
    assert "<@U0BOB>" in notice and "<@U0ALICE>" in notice and "emergency" in notice
    assert "checkout 5xx since 14:02" in notice

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT actor, detail::text AS detail FROM audit_log WHERE kind = 'confirmed'")
    finally:
        await conn.close()
    confirmed = [json.loads(r["detail"]) for r in rows if "breakglass" in r["detail"]]
    assert len(confirmed) == 1
    assert confirmed[0]["as"] == "breakglass" and confirmed[0]["emergency"] is True
    assert confirmed[0]["reason"] == REASON


async def test_an_emergency_request_from_someone_outside_breakglass_is_refused_and_nothing_is_created(
    bob: SlackUser, slack: SlackFake, bot: BotProcess
) -> None:
    await bob.slash_command('rollback backend --emergency "I am in a hurry"')
    assert "breakglass" in await ephemeral_text(slack, "U0BOB", "may not")
    assert bot.runtime is not None
    assert await bot.runtime.executions.recent(service="backend", limit=5) == []


async def test_without_emergency_the_breakglass_member_still_needs_a_second_person(
    alice: SlackUser, bob: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    first = await restarted(alice, slack)
    before = revision(cluster)
    await alice.slash_command("rollback backend")
    rollback = await slack.wait_for(
        lambda: next(
            (m for m in slack.messages("C0OPS") if m.ts != first.ts and ActionId.CONFIRM.value in str(m.blocks)),
            None,
        )
    )
    await alice.block_action(rollback, ActionId.CONFIRM.value)
    await ephemeral_text(slack, "U0ALICE", "second person")
    assert revision(cluster) == before
    assert slack.thread_replies("C0OPS", rollback.ts) == []
    await bob.block_action(rollback, ActionId.CONFIRM.value)
    final = await final_state(slack, rollback, "succeeded")
    assert "Emergency" not in json.dumps(final.blocks)
