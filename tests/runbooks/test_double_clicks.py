"""The 3 a.m. double click: two Confirm clicks at once run a change once. Each test counts the change's
own effect where it lands (keys unlinked and jobs deleted as the audited step reported them, PATCH
requests that reached the sandbox cluster), not only the final message."""

from __future__ import annotations

import redis.asyncio as aioredis

from bot.ids import ActionId
from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import Message, SlackFake
from tests.flows import BACKEND, NS, double_click, final_state, preview_message, step_summaries

PATCHED = "ghcr.io/repo/mail-score-backend:security-patch"


def real_patches(cluster: SandboxCluster) -> list[object]:
    """PATCHes of backend's deployment that changed it (previews are dry runs)."""
    return [r for r in cluster.requests_to(f"/deployments/{BACKEND}", "PATCH") if "dryRun" not in r.query]


async def test_double_clicked_clear_cache_unlinks_the_keys_once(
    alice: SlackUser, slack: SlackFake, dashboard_redis: aioredis.Redis, database_url: str
) -> None:
    await dashboard_redis.mset({f"email:{i}": "x" for i in range(300)})
    await alice.slash_command("clear-cache email-dashboard email:*")
    await double_click(slack, alice, await preview_message(slack))
    [summary] = await step_summaries(database_url, "clear-cache")
    assert summary.startswith("Unlinked 300 keys matching `email:*`")
    assert await dashboard_redis.dbsize() == 0


async def test_double_clicked_queue_purge_deletes_the_jobs_once(
    alice: SlackUser, bob: SlackUser, slack: SlackFake, dashboard_redis: aioredis.Redis, database_url: str
) -> None:
    await dashboard_redis.rpush("export:queue", "a", "b", "c")
    await alice.slash_command("queue-purge email-dashboard export:queue")
    await double_click(slack, bob, await preview_message(slack))
    assert await step_summaries(database_url, "queue-purge") == ["Deleted the 3 jobs of queue `export:queue`"]
    assert await dashboard_redis.exists("export:queue") == 0


async def test_double_clicked_set_image_patches_the_deployment_once(
    alice: SlackUser, bob: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    await alice.slash_command(f"set-image backend backend {PATCHED}")
    await double_click(slack, bob, await preview_message(slack))
    assert len(real_patches(cluster)) == 1
    containers = cluster.deployment(NS, BACKEND)["spec"]["template"]["spec"]["containers"]
    assert next(c for c in containers if c["name"] == "backend")["image"] == PATCHED


async def test_double_clicked_break_glass_rollback_patches_the_deployment_once(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    await alice.slash_command("restart backend")  # a second revision to roll back from
    restart = await preview_message(slack)
    await alice.block_action(restart, ActionId.CONFIRM.value)
    await final_state(slack, restart, "succeeded")
    cluster.clear()

    await alice.slash_command('rollback backend --emergency "checkout 5xx"')

    def emergency_preview() -> Message | None:
        message = slack.last_message("C0OPS")
        return message if message and message.ts != restart.ts and "Emergency" in str(message.blocks) else None

    await double_click(slack, alice, await slack.wait_for(emergency_preview))
    assert len(real_patches(cluster)) == 1
