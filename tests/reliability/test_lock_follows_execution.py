"""A lock follows its execution: a run cut off by SIGKILL or SIGTERM frees its target, in `serve` and in
`socket`, while PostgreSQL and Redis outlive the bot (as in production). Nothing is re-run."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from bot.ids import ActionId
from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import Message, SlackFake
from tests.conftest import SIGNING_SECRET
from tests.reliability.conftest import ServeFactory, ServeProcess

# Real processes and real waits: scheduled first, so they overlap the short tests (tests/conftest.py).
pytestmark = pytest.mark.slow

NS, BACKEND = "mail-score-production", "mail-score-backend"
# The restart procedure's lock TTL is its step timeouts plus 60 s (390 s): a target free within the
# stale + sweep interval (2 s + 1 s here) was freed by the bot, not by the TTL.
FREED_WITHIN = 20.0


async def _preview(slack: SlackFake, *, besides: Message | None = None) -> Message:
    """The first message with a Confirm button (other than `besides`)."""

    def found() -> Message | None:
        previews = [m for m in slack.messages("C0OPS") if ActionId.CONFIRM.value in str(m.blocks)]
        return next((m for m in previews if besides is None or m.ts != besides.ts), None)

    return await slack.wait_for(found, timeout=15)


def _real_restarts(cluster: SandboxCluster) -> int:
    return len([r for r in cluster.requests_to(f"/deployments/{BACKEND}", "PATCH") if "dryRun" not in r.query])


async def _wait_rollout_step(slack: SlackFake, message: Message) -> None:
    def waiting_for_rollout() -> bool:
        blocks = str(slack.message("C0OPS", message.ts).blocks)
        return "*running*" in blocks and "step 2 of 2" in blocks

    await slack.wait_for(waiting_for_rollout, 15)


async def _start_restart(process: ServeProcess, slack: SlackFake, cluster: SandboxCluster) -> Message:
    """alice asks for `restart backend` and confirms; the rollout makes no progress, so the run waits."""
    cluster.hold_rollouts(NS, BACKEND)
    async with SlackUser(process.url, slack, SIGNING_SECRET, user_id="U0ALICE", channel_id="C0OPS") as alice:
        await alice.slash_command("restart backend")
        message = await _preview(slack)
        await alice.block_action(message, ActionId.CONFIRM.value)
    await _wait_rollout_step(slack, message)
    return message


async def _lock_keys(process: ServeProcess) -> list[Any]:
    client = aioredis.Redis.from_url(process.env["REDIS_URL"])
    try:
        return list(await client.keys(process.env["REDIS_PREFIX"] + "lock:*"))
    finally:
        await client.aclose()


async def _execution_state(database_url: str) -> tuple[str, str]:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow("SELECT state, error FROM executions")
    finally:
        await conn.close()
    assert row is not None
    return row["state"], row["error"]


def _interrupted(slack: SlackFake, message: Message) -> bool:
    return "*interrupted*" in str(slack.message("C0OPS", message.ts).blocks)


async def test_after_sigkill_the_next_request_hears_the_last_run_was_interrupted_not_being_changed(
    serve_processes: ServeFactory, slack: SlackFake, cluster: SandboxCluster
) -> None:
    first = serve_processes()
    await first.start()
    message = await _start_restart(first, slack, cluster)
    first.kill()
    assert await _lock_keys(first), "SIGKILL skips every cleanup: the lock is still in Redis"

    second = serve_processes()
    await second.start()
    # The sweep (or recovery at start) marks the run interrupted and frees its target in the same pass.
    await slack.wait_for(lambda: _interrupted(slack, message), timeout=FREED_WITHIN)
    assert await _lock_keys(second) == []
    async with SlackUser(second.url, slack, SIGNING_SECRET, user_id="U0BOB", channel_id="C0OPS") as bob:
        await bob.slash_command("restart backend")
    fresh = await _preview(slack, besides=message)
    shown = str(fresh.blocks)
    assert "The last run on backend was interrupted" in shown
    assert "being changed" not in shown + str(slack.ephemeral_messages("U0BOB"))
    assert _real_restarts(cluster) == 1, "the interrupted restart was never re-run"


async def test_sigterm_mid_rollout_marks_the_run_interrupted_and_frees_the_target_before_exit(
    serve_processes: ServeFactory, slack: SlackFake, cluster: SandboxCluster, database_url: str
) -> None:
    process = serve_processes()
    await process.start()
    message = await _start_restart(process, slack, cluster)
    await asyncio.to_thread(process.terminate)  # the rollout outlasts the 1 s grace period

    assert process.process is not None and process.process.returncode == 0, process.log()[-2000:]
    assert _interrupted(slack, message), "the message says so before the process is gone"
    assert await _lock_keys(process) == [], "the target is free before the process is gone"
    state, error = await _execution_state(database_url)
    assert state == "interrupted" and "not re-run" in error
    assert _real_restarts(cluster) == 1


async def _start_restart_over_socket(slack: SlackFake, cluster: SandboxCluster) -> Message:
    """The same as _start_restart, with the envelopes Slack sends over Socket Mode."""
    await slack.socket_mode.wait_connected(timeout=30)
    cluster.hold_rollouts(NS, BACKEND)
    command = {
        "token": "unused-in-socket-mode",
        "team_id": "T0SANDBOX",
        "channel_id": "C0OPS",
        "user_id": "U0ALICE",
        "command": "/runbook",
        "text": "restart backend",
        "response_url": slack.new_response_url("C0OPS", "U0ALICE"),
        "trigger_id": slack.new_trigger_id("U0ALICE"),
    }
    await slack.socket_mode.deliver("slash_commands", command)
    message = await _preview(slack)
    click = {
        "type": "block_actions",
        "user": {"id": "U0ALICE"},
        "team": {"id": "T0SANDBOX"},
        "channel": {"id": "C0OPS"},
        "container": {"type": "message", "message_ts": message.ts, "channel_id": "C0OPS"},
        "response_url": slack.new_response_url("C0OPS", "U0ALICE", message_ts=message.ts),
        "actions": [{"action_id": ActionId.CONFIRM.value, "value": _confirm_value(message)}],
    }
    await slack.socket_mode.deliver("interactive", click)
    await _wait_rollout_step(slack, message)
    return message


async def test_socket_mode_sigterm_mid_rollout_exits_cleanly_and_frees_the_target(
    serve_processes: ServeFactory, slack: SlackFake, cluster: SandboxCluster, database_url: str
) -> None:
    process = serve_processes("socket")
    await process.start()
    message = await _start_restart_over_socket(slack, cluster)

    await asyncio.to_thread(process.terminate)
    assert process.process is not None and process.process.returncode == 0, process.log()[-2000:]
    assert _interrupted(slack, message)
    assert await _lock_keys(process) == []
    state, _ = await _execution_state(database_url)
    assert state == "interrupted"
    assert _real_restarts(cluster) == 1


async def test_socket_mode_sigkill_mid_rollout_frees_the_target_once_another_replica_sweeps(
    serve_processes: ServeFactory, slack: SlackFake, cluster: SandboxCluster
) -> None:
    process = serve_processes("socket")
    await process.start()
    message = await _start_restart_over_socket(slack, cluster)
    process.kill()
    assert await _lock_keys(process), "SIGKILL skips every cleanup: the lock is still in Redis"

    survivor = serve_processes()
    await survivor.start()
    await slack.wait_for(lambda: _interrupted(slack, message), timeout=FREED_WITHIN)
    assert await _lock_keys(survivor) == []
    assert _real_restarts(cluster) == 1


def _confirm_value(message: Message) -> str:
    for block in message.blocks:
        for element in block.get("elements", []) or []:
            if isinstance(element, dict) and element.get("action_id") == ActionId.CONFIRM.value:
                return str(element["value"])
    raise AssertionError("no Confirm button")
