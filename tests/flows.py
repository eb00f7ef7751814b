"""What the flow tests wait for and look at: the preview, its final state, an ephemeral answer,
and what reached the sandbox cluster."""

from __future__ import annotations

from bot.ids import ActionId
from sandbox.cluster import SandboxCluster
from sandbox.slack_fake import Message, SlackFake

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
