"""Clicks on a suggested procedure (from a health report or an alert).

The button only names a procedure and its argument text; the click goes through
exactly the path a typed `/runbook` command takes (parse, policy as the clicker,
preview and confirmation), so a button grants nothing a command would not.
"""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import errors
from bot.runbooks import parser
from bot.runtime import Runtime
from bot.slack.ids import ActionId
from bot.slack.replies import action_invocation, answering
from bot.slack.runbook_command import run_parsed

# Slack refuses a message whose action_ids repeat, so the n-th suggestion button in a message is
# `runbook_run_suggested-n` (the first keeps the bare id); one listener matches them all.
SUGGESTION_ACTION = re.compile(rf"^{re.escape(ActionId.RUN_SUGGESTED.value)}(-\d+)?$")


def suggestion_action_id(n: int) -> str:
    return ActionId.RUN_SUGGESTED.value if n == 0 else f"{ActionId.RUN_SUGGESTED.value}-{n}"


def suggestion_value(procedure: str, args_text: str) -> str:
    return json.dumps({"p": procedure, "a": args_text}, separators=(",", ":"))


def _command_text(value: str) -> str:
    try:
        data = json.loads(value)
        procedure, args_text = str(data["p"]), str(data.get("a", ""))
    except (ValueError, KeyError, TypeError):
        raise errors.UserError("That button is not one of mine (its value is not a suggestion).") from None
    return f"{procedure} {args_text}".strip()


def register(app: AsyncApp, rt: Runtime) -> None:
    async def handle_run_suggested_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        who = action_invocation(body)
        async with answering(rt.slack, who, "that suggested procedure", changes=True):
            value = str((body.get("actions") or [{}])[0].get("value", ""))
            parsed = parser.parse(_command_text(value), rt.procedures, rt.catalog)
            await run_parsed(rt, who, parsed)

    app.action(SUGGESTION_ACTION)(handle_run_suggested_action)
