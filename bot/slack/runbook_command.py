"""`/runbook …`: parse in the ack path (no I/O), acknowledge, then answer."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import errors
from bot.runbooks import parser
from bot.runbooks.engine import Invocation
from bot.runbooks.loader import RESERVED_NAMES
from bot.runbooks.policy import VIEWER_ROLE
from bot.slack import guides, health_report
from bot.slack.followup import ack_command_then
from bot.slack.replies import answering, command_invocation
from bot.slack.runbook_requests import RunbookRuntime, run_parsed
from bot.text import quoted

log = structlog.get_logger(__name__)


# Answered by the bot itself (after the ack, since they do I/O); procedure files may not use these names.
BUILT_IN_AFTER_ACK = frozenset(RESERVED_NAMES - {"help"})


def register(app: AsyncApp, rt: RunbookRuntime) -> None:
    async def handle_runbook_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        await answer_runbook_command(rt, ack, command)

    app.command("/runbook")(handle_runbook_command)


async def answer_runbook_command(rt: RunbookRuntime, ack: AsyncAck, command: dict[str, Any]) -> None:
    text = str(command.get("text", "")).strip()
    who = command_invocation(command)
    try:
        tokens = parser.tokenize(text)
        word = tokens[0].lower() if tokens else "help"
        if word == "help":
            if len(tokens) > 1:
                name = tokens[1].lower()
                if name not in rt.procedures:
                    raise parser.unknown_name_error("procedure", name, list(rt.procedures), usage="/runbook help")
                await ack(blocks=rt.views.help_procedure(rt.procedures[name]), response_type="ephemeral")
            else:
                await ack(blocks=rt.views.help_overview(rt.procedures.values()), response_type="ephemeral")
            return
        parsed = None if word in BUILT_IN_AFTER_ACK else parser.parse(text, rt.procedures, rt.catalog)
    except errors.UserError as exc:
        text, blocks = rt.replier.views.error(rt.replier.views.said(exc.said), exc.usage)
        await ack(text=text, blocks=blocks, response_type="ephemeral")
        return
    changes = parsed is not None and parsed.procedure.destructive

    async def answer() -> None:
        log.info("runbook command", user=who.user_id, channel=who.channel_id, command=word)
        async with answering(rt.replier, who, quoted(f"/runbook {word}"), changes=changes):
            if parsed is not None:
                await run_parsed(rt, who, parsed)
            elif word == "list":
                allowed = [p for p in rt.procedures.values() if await rt.policy.may_run(p, who.user_id)]
                await rt.slack.respond(who.response_url or "", "What you may run", rt.views.allowed_list(allowed))
            elif word == "guide":
                await guides.answer_guide(rt, who, tokens[1:])
            elif word == "health":
                await rt.policy.check_role(who.user_id, VIEWER_ROLE, errors.Said("doing_see_health"))
                await health_report.answer_health(rt.health, who, tokens[1] if len(tokens) > 1 else None)
            else:
                await rt.policy.check_role(who.user_id, VIEWER_ROLE, errors.Said("doing_see_history"))
                await _history(rt, who, tokens[1:])

    await ack_command_then(rt.followups, rt.replier, ack, f"runbook-{word}", answer)


async def _history(rt: RunbookRuntime, who: Invocation, rest: list[str]) -> None:
    service = rest[0] if rest else None
    if service is not None and service not in rt.catalog.services:
        raise parser.unknown_name_error(
            "service", service, list(rt.catalog.services), usage="/runbook history [service]"
        )
    async with asyncio.timeout(rt.history_timeout):
        found = await rt.engine.history(service, limit=10)
    await rt.slack.respond(
        who.response_url or "",
        "Runbook history",
        rt.views.history(found.executions, service, found.rollout),
        ephemeral=False,
    )
