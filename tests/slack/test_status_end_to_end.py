"""Issue 2's done-when: a signed `/runbook status backend` is acked and the cluster's own figures reach Slack."""

from __future__ import annotations

import re

from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake

FIGURES = re.compile(r"(\d+)/(\d+) ready, (\d+) up to date, (\d+) available, revision (\d+)")


async def test_status_is_acknowledged_and_posts_the_clusters_exact_figures(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    reply = await alice.slash_command("status backend")
    assert reply.status == 200

    message = await slack.wait_for(lambda: slack.last_message("C0OPS"))
    deployment = cluster.deployment("mail-score-production", "mail-score-backend")
    status = deployment["status"]
    expected = (
        status.get("readyReplicas", 0),
        deployment["spec"]["replicas"],
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        int(deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"]),
    )
    found = FIGURES.search(str(message.blocks))
    assert found is not None, message.blocks
    assert tuple(int(n) for n in found.groups()) == expected
    assert "mail-score-backend" in str(message.blocks)
