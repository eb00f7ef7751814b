"""`/runbook history [service]`: the engine's executions and, for one service, its rollout history."""

from __future__ import annotations

from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake


async def test_history_of_a_service_shows_its_executions_and_rollout_revisions(
    alice: SlackUser, slack: SlackFake
) -> None:
    await alice.slash_command("history backend")
    message = await slack.wait_for(lambda: slack.last_message("C0OPS"))
    shown = str(message.blocks)
    assert message.text == "Latest runbook executions for backend"
    assert "current" in shown and "revision" in shown  # the rollout history read from the cluster


async def test_history_of_every_service_reads_no_rollout(alice: SlackUser, slack: SlackFake) -> None:
    await alice.slash_command("history")
    message = await slack.wait_for(lambda: slack.last_message("C0OPS"))
    assert message.text == "Latest runbook executions"
    assert "revision" not in str(message.blocks)
