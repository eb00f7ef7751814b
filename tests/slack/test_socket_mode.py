"""`runbook-bot socket`: the same listeners over Socket Mode, against the fake's Socket Mode endpoint."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from bot.ids import ActionId
from sandbox.cluster import SandboxCluster
from sandbox.slack_fake import SlackFake
from tests.conftest import bot_env
from tests.reliability.conftest import free_port


async def test_socket_mode_acks_a_slash_command_and_answers_through_the_web_api(
    slack: SlackFake, cluster: SandboxCluster, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        **bot_env(slack=slack, cluster=cluster, database_url=database_url, redis_url=redis_url, tmp_path=tmp_path),
        "SLACK_APP_TOKEN": slack.config.app_token,
        "PORT": str(free_port()),
        "HOST": "127.0.0.1",
    }
    log = (tmp_path / "socket.log").open("wb")
    process = subprocess.Popen(  # noqa: ASYNC220 - Popen returns at once; the loop keeps serving the fakes
        [sys.executable, "-m", "bot.cli", "socket"], env=env, stdout=log, stderr=log
    )
    try:
        await slack.socket_mode.wait_connected(timeout=60)
        command = {
            "token": "unused-in-socket-mode",
            "team_id": "T0SANDBOX",
            "channel_id": "C0OPS",
            "user_id": "U0ALICE",
            "command": "/runbook",
            "text": "status backend",
            "response_url": slack.new_response_url("C0OPS", "U0ALICE"),
            "trigger_id": slack.new_trigger_id("U0ALICE"),
        }
        ack = await slack.socket_mode.deliver("slash_commands", command)
        status = await slack.wait_for(lambda: slack.last_message("C0OPS"), timeout=10)
        assert "mail-score-backend" in str(status.blocks)

        bad = await slack.socket_mode.deliver("slash_commands", {**command, "text": "scael backend 5"})
        assert "Did you mean `scale`" in str(bad.get("payload"))

        await slack.socket_mode.deliver("slash_commands", {**command, "text": "scale backend 5"})
        preview = await slack.wait_for(
            lambda: next((m for m in slack.messages("C0OPS") if ActionId.CONFIRM.value in str(m.blocks)), None),
            timeout=10,
        )
        click = {
            "type": "block_actions",
            "user": {"id": "U0ALICE"},
            "team": {"id": "T0SANDBOX"},
            "channel": {"id": "C0OPS"},
            "container": {"type": "message", "message_ts": preview.ts, "channel_id": "C0OPS"},
            "response_url": slack.new_response_url("C0OPS", "U0ALICE", message_ts=preview.ts),
            "actions": [{"action_id": ActionId.CONFIRM.value, "value": _button_value(preview.blocks)}],
        }
        await slack.socket_mode.deliver("interactive", click)
        await cluster.wait_until(
            lambda: cluster.deployment("mail-score-production", "mail-score-backend")["spec"]["replicas"] == 5,
            within=15,
        )
        assert ack.get("envelope_id")
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 30)
        log.close()


def _button_value(blocks: list[dict[str, object]]) -> str:
    for block in blocks:
        for element in block.get("elements", []) or []:  # type: ignore[union-attr]
            if isinstance(element, dict) and element.get("action_id") == ActionId.CONFIRM.value:
                return str(element["value"])
    raise AssertionError("no Confirm button")


async def test_socket_mode_acknowledges_envelopes_no_listener_handles(
    slack: SlackFake, cluster: SandboxCluster, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        **bot_env(slack=slack, cluster=cluster, database_url=database_url, redis_url=redis_url, tmp_path=tmp_path),
        "SLACK_APP_TOKEN": slack.config.app_token,
        "PORT": str(free_port()),
        "HOST": "127.0.0.1",
    }
    log = (tmp_path / "socket.log").open("wb")
    process = subprocess.Popen(  # noqa: ASYNC220 - Popen returns at once; the loop keeps serving the fakes
        [sys.executable, "-m", "bot.cli", "socket"], env=env, stdout=log, stderr=log
    )
    try:
        await slack.socket_mode.wait_connected(timeout=60)
        # An event the app subscribes to by accident (or a new one Slack starts sending): unanswered,
        # Slack would redeliver it and, after enough failures, turn the app's events off.
        event = {
            "type": "event_callback",
            "team_id": "T0SANDBOX",
            "api_app_id": slack.config.app_id,
            "event": {"type": "reaction_added", "user": "U0ALICE", "reaction": "eyes", "event_ts": "1.000001"},
            "event_id": "Ev0UNHANDLED",
            "event_time": 1,
        }
        ack = await slack.socket_mode.deliver("events_api", event)
        assert ack.get("envelope_id")
        unknown_action = {
            "type": "block_actions",
            "user": {"id": "U0ALICE"},
            "team": {"id": "T0SANDBOX"},
            "channel": {"id": "C0OPS"},
            "actions": [{"action_id": "no_such_button", "value": "x"}],
        }
        assert (await slack.socket_mode.deliver("interactive", unknown_action)).get("envelope_id")
    finally:
        process.terminate()
        assert await asyncio.to_thread(process.wait, 30) == 0, (tmp_path / "socket.log").read_text()[-2000:]
        log.close()
