"""Clicks on a suggested procedure (from a health report or an alert).

The button only names a procedure and its argument text; the click goes through
exactly the path a typed `/runbook` command takes (parse, policy as the clicker,
preview and confirmation), so a button grants nothing a command would not.
"""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import errors
from bot.followups import FollowUps
from bot.ids import SUGGESTION_ACTION
from bot.slack.followup import ack_click_then
from bot.slack.replies import Replier, action_invocation, answering, clicked_thread
from bot.slack.runbook_requests import RunbookRequests, run_parsed


def _command_text(value: str) -> str:
    try:
        data = json.loads(value)
        procedure, args_text = str(data["p"]), str(data.get("a", ""))
    except (ValueError, KeyError, TypeError):
        raise errors.UserError("not_a_suggestion_button") from None
    return f"{procedure} {args_text}".strip()


def register(app: AsyncApp, requests: RunbookRequests, followups: FollowUps, replier: Replier) -> None:
    async def handle_run_suggested_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        async def work() -> None:
            who = action_invocation(body)
            async with answering(replier, who, "that suggested procedure", changes=True):
                value = str((body.get("actions") or [{}])[0].get("value", ""))
                parsed = requests.parse(_command_text(value))
                await run_parsed(requests, who, parsed, thread_ts=clicked_thread(body))

        await ack_click_then(followups, replier, ack, body, "suggested", work)

    app.action(SUGGESTION_ACTION)(handle_run_suggested_action)
