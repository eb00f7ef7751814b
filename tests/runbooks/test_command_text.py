"""Issue 15: the command shown in progress, history and the audit log is the command typed (declared order,
flag names, the user's units), so pasting it back runs the same thing."""

from __future__ import annotations

import json

from bot.app import BotProcess
from bot.ids import ActionId
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from tests.flows import final_state, preview_message


def everything_shown(slack: SlackFake) -> str:
    return json.dumps([c.params for c in slack.calls if c.method != "auth.test"], default=str)


async def test_a_change_shows_the_command_as_typed_in_preview_progress_history_and_audit(
    bot: BotProcess, alice: SlackUser, slack: SlackFake
) -> None:
    await alice.slash_command("hpa-max backend 2 15")
    preview = await preview_message(slack)
    assert "/runbook hpa-max backend 2 15" in json.dumps(preview.blocks)
    await alice.block_action(preview, ActionId.CONFIRM.value)
    final = await final_state(slack, preview, "succeeded")
    assert "/runbook hpa-max backend 2 15" in json.dumps(final.blocks)
    await alice.slash_command("history backend")
    await slack.wait_for(lambda: "Latest runbook executions for backend" in everything_shown(slack) or None, timeout=15)
    history = [c for c in slack.calls if "Latest runbook executions for backend" in json.dumps(c.params, default=str)]
    assert "/runbook hpa-max backend 2 15" in json.dumps(history[-1].params, default=str)
    assert bot.runtime is not None
    async with bot.runtime.db.acquire() as conn:
        detail = await conn.fetchval("SELECT detail FROM audit_log WHERE kind = 'request'")
    assert json.loads(detail)["command"] == "hpa-max backend 2 15"


async def test_set_env_progress_keeps_the_variable_before_its_value(alice: SlackUser, slack: SlackFake) -> None:
    await alice.slash_command("set-env email-dashboard LOG_LEVEL debug")
    preview = await preview_message(slack)
    await alice.block_action(preview, ActionId.CONFIRM.value)
    final = await final_state(slack, preview, "succeeded")  # rebuilt from the stored execution
    assert "/runbook set-env email-dashboard LOG_LEVEL debug" in json.dumps(final.blocks)


async def test_a_read_only_answer_shows_flags_by_name_and_in_the_users_units(
    alice: SlackUser, slack: SlackFake
) -> None:
    await alice.slash_command("logs email-dashboard 20 --since 1h")
    await slack.wait_for(lambda: "--since 1h" in everything_shown(slack) or None, timeout=15)
    assert "/runbook logs email-dashboard 20 --since 1h" in everything_shown(slack)
    assert "email-dashboard 20 3600" not in everything_shown(slack)
