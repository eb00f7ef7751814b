"""Text that comes from the cluster (log lines, before/after values) reaches Slack escaped: it cannot ping or link."""

from __future__ import annotations

import json

from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import Message, SlackFake
from tests.flows import BACKEND, NS, preview_message

HOSTILE = "<!channel> & <@U0BOB> <https://evil.example|click here>"
ESCAPED = "&lt;!channel&gt; &amp; &lt;@U0BOB&gt; &lt;https://evil.example|click here&gt;"


def everything_posted(slack: SlackFake) -> str:
    """Every text and block the bot sent to Slack, as one string."""
    methods = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")
    return json.dumps([c.params for m in methods for c in slack.calls_to(m)], default=str)


def shown(message: Message) -> str:
    return message.text + json.dumps(message.blocks)


async def test_log_lines_from_the_cluster_cannot_ping_or_link(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    cluster.set_log_lines([f"2026-03-02T09:00:00Z backend {HOSTILE}"])

    await alice.slash_command("logs backend 5")
    message = await slack.wait_for(
        lambda: next((m for m in slack.messages("C0OPS") if "evil.example" in shown(m)), None), timeout=15
    )

    assert ESCAPED in shown(message)
    assert "<!channel>" not in everything_posted(slack)
    assert "<@U0BOB>" not in everything_posted(slack)
    assert "<https://evil.example" not in everything_posted(slack)


async def test_a_before_value_from_the_cluster_is_escaped_in_the_preview(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    deployment = cluster.deployment(NS, BACKEND)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [*(container.get("env") or []), {"name": "LOG_LEVEL", "value": HOSTILE}]
    cluster.store.put("deployments", deployment)

    await alice.slash_command("set-env backend LOG_LEVEL debug")
    message = await preview_message(slack)

    assert ESCAPED in shown(message)
    assert "<!channel>" not in everything_posted(slack)
    assert "<https://evil.example" not in everything_posted(slack)
