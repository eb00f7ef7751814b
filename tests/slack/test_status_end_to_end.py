"""Issue 2's done-when: a signed `/runbook status backend` is acked fast and the status reaches Slack."""

from __future__ import annotations

import time

from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake


async def test_status_is_acknowledged_fast_and_posts_the_cluster_figures(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    started = time.monotonic()
    reply = await alice.slash_command("status backend")
    acked_in = time.monotonic() - started
    assert reply.status == 200
    assert acked_in < 1.0
    message = await slack.wait_for(lambda: slack.last_message("C0OPS"))
    deployment = cluster.deployment("mail-score-production", "mail-score-backend")
    desired = deployment["spec"]["replicas"]
    text = str(message.blocks)
    assert "mail-score-backend" in text
    assert f"{desired}" in text
