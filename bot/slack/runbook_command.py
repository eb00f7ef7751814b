"""`/runbook …`: parse in the ack path (no I/O), acknowledge, then answer.

A word that is not a procedure is a subcommand some surface added (bot/slack/subcommands.py); this
module adds its own two, `list` and `history`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import errors
from bot.runbooks import parser
from bot.runbooks.engine import Invocation
from bot.runbooks.policy import VIEWER_ROLE
from bot.slack.followup import ack_command_then
from bot.slack.replies import answering, command_invocation
from bot.slack.runbook_requests import RunbookRuntime, run_parsed
from bot.text import quoted

log = structlog.get_logger(__name__)

HISTORY_USAGE = "/runbook history [service]"


def register(app: AsyncApp, rt: RunbookRuntime) -> None:
    async def handle_runbook_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        await answer_runbook_command(rt, ack, command)

    async def answer_list(who: Invocation, _words: Sequence[str]) -> None:
        requests = rt.requests
        allowed = [p for p in requests.procedures.values() if await rt.policy.may_run(p, who.user_id)]
        await requests.slack.respond(who.response_url or "", *requests.views.allowed_list(allowed))

    async def answer_history(who: Invocation, words: Sequence[str]) -> None:
        await rt.policy.check_role(who.user_id, VIEWER_ROLE, errors.Said("doing_see_history"))
        await _history(rt, who, words)

    rt.subcommands.add("list", "/runbook list", answer_list)
    rt.subcommands.add("history", HISTORY_USAGE, answer_history)
    app.command("/runbook")(handle_runbook_command)


async def answer_runbook_command(rt: RunbookRuntime, ack: AsyncAck, command: dict[str, Any]) -> None:
    text = str(command.get("text", "")).strip()
    who = command_invocation(command)
    requests = rt.requests
    try:
        tokens = parser.tokenize(text)
        word = tokens[0].lower() if tokens else "help"
        if word == "help":
            if len(tokens) > 1:
                name = tokens[1].lower()
                if name not in requests.procedures:
                    raise parser.unknown_name_error("procedure", name, list(requests.procedures), usage="/runbook help")
                await ack(blocks=requests.views.help_procedure(requests.procedures[name]), response_type="ephemeral")
            else:
                blocks = requests.views.help_overview(requests.procedures.values(), rt.subcommands)
                await ack(blocks=blocks, response_type="ephemeral")
            return
        subcommand = rt.subcommands.get(word)
        parsed = None if subcommand is not None else requests.parse(text)
    except errors.UserError as exc:
        text, blocks = rt.replier.views.error(rt.replier.views.said(exc.said), exc.usage)
        await ack(text=text, blocks=blocks, response_type="ephemeral")
        return
    changes = parsed is not None and parsed.procedure.destructive

    async def answer() -> None:
        log.info("runbook command", user=who.user_id, channel=who.channel_id, command=word)
        async with answering(rt.replier, who, quoted(f"/runbook {word}"), changes=changes):
            if subcommand is not None:
                await subcommand.answer(who, tokens[1:])
            elif parsed is not None:
                await run_parsed(requests, who, parsed)

    await ack_command_then(rt.followups, rt.replier, ack, f"runbook-{word}", answer)


async def _history(rt: RunbookRuntime, who: Invocation, rest: Sequence[str]) -> None:
    requests = rt.requests
    service = rest[0] if rest else None
    if service is not None and service not in requests.catalog.services:
        raise parser.unknown_name_error("service", service, list(requests.catalog.services), usage=HISTORY_USAGE)
    async with asyncio.timeout(rt.history_timeout):
        found = await requests.engine.history(service, limit=10)
    shown = requests.views.history(found.executions, service, found.rollout)
    await requests.slack.respond(who.response_url or "", *shown, ephemeral=False)
