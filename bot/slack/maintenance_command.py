"""`/maintenance schedule|cancel|list`. Parsing (times included) happens before the ack, with no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import errors
from bot.catalog import Catalog
from bot.comms import maintenance, times
from bot.comms.maintenance import MaintenanceService
from bot.followups import FollowUps
from bot.runbooks import parser
from bot.runbooks.engine import Clock, Invocation
from bot.slack import incident_contexts as contexts
from bot.slack.followup import ack_command_then
from bot.slack.replies import Replier, answering, command_invocation
from bot.slack.webapi import SlackWebApi
from bot.templating import Templates

log = structlog.get_logger(__name__)
USAGE = (
    "/maintenance schedule <start> <duration> <purpose…> [--services a,b] [--public|--no-public] · "
    "/maintenance reschedule <id> <start> <duration> · /maintenance cancel|start|complete <id> · "
    "/maintenance list  (start: 2026-12-01T22:00+01:00 or 2026-12-01 22:00)"
)
_BY_ID = ("cancel", "start", "complete")  # subcommands that name one window
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_ONLY = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?([+-]\d{2}:?\d{2}|Z)?$")


@dataclass(frozen=True)
class Parsed:
    word: str
    window_id: int | None = None
    starts_at: datetime | None = None
    length: timedelta = timedelta(0)
    purpose: str = ""
    services: list[str] = field(default_factory=list)
    publish: bool | None = None  # --public / --no-public; None: the catalog's `statuspage.maintenance_default`


def _joined_start(rest: list[str], at: int) -> list[str]:
    """A start typed as a date and a time at position `at`, as one token: "2026-12-01 22:00" arrives as
    two tokens, and people type it that way."""
    if len(rest) >= at + 2 and _DATE_ONLY.match(rest[at]) and _TIME_ONLY.match(rest[at + 1]):
        return [*rest[:at], f"{rest[at]}T{rest[at + 1]}", *rest[at + 2 :]]
    return rest


def parse(text: str, *, timezone: str, now: datetime) -> Parsed:
    tokens = parser.tokenize(text)
    word = tokens[0].lower() if tokens else "help"
    rest = tokens[1:]
    if word in ("help", "list"):
        return Parsed(word)
    if word in _BY_ID:
        if len(rest) != 1:
            raise errors.UserError("which_window", word=word)
        return Parsed(word, window_id=maintenance.parse_id(rest[0]))
    if word == "reschedule":
        rest = _joined_start(rest, 1)
        if len(rest) != 3:
            raise errors.UserError("reschedule_needs")
        starts_at = times.parse_start(rest[1], timezone=timezone, now=now)
        return Parsed(
            word, window_id=maintenance.parse_id(rest[0]), starts_at=starts_at, length=times.parse_duration(rest[2])
        )
    if word != "schedule":
        raise parser.unknown_name_error("subcommand", word, ["schedule", "reschedule", *_BY_ID, "list"])
    flags = [t for t in rest if t in ("--public", "--no-public")]
    if len(set(flags)) > 1:
        raise errors.UserError("public_flags_contradict")
    publish = flags[0] == "--public" if flags else None
    rest = [t for t in rest if t not in flags]
    services: list[str] = []
    if "--services" in rest:
        at = rest.index("--services")
        if at + 1 >= len(rest):
            raise errors.UserError("services_flag_needs_list")
        services = [s.strip() for s in rest[at + 1].split(",") if s.strip()]
        rest = rest[:at] + rest[at + 2 :]
    rest = _joined_start(rest, 0)
    if len(rest) < 3:
        raise errors.UserError("schedule_needs_parts")
    starts_at = times.parse_start(rest[0], timezone=timezone, now=now)
    return Parsed(
        word,
        starts_at=starts_at,
        length=times.parse_duration(rest[1]),
        purpose=" ".join(rest[2:]),
        services=services,
        publish=publish,
    )


@dataclass(frozen=True)
class MaintenanceRuntime:
    """What `/maintenance` uses; built by the composition root."""

    slack: SlackWebApi
    catalog: Catalog
    maintenance: MaintenanceService
    clock: Clock  # "now", to read a start time typed without a date
    templates: Templates  # maintenance_list, maintenance_reply
    followups: FollowUps  # the work after the ack, on the bounded queue /runbook uses
    replier: Replier  # errors, usage and outage answers (templates/reply_*)


def register(app: AsyncApp, rt: MaintenanceRuntime) -> None:
    service = rt.maintenance

    async def handle_maintenance_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        who = command_invocation(command)
        try:
            parsed = parse(str(command.get("text", "")).strip(), timezone=rt.catalog.timezone, now=rt.clock())
        except errors.UserError as exc:
            text, blocks = rt.replier.views.error(rt.replier.views.said(exc.said), USAGE)
            await ack(text=text, blocks=blocks, response_type="ephemeral")
            return
        if parsed.word == "help":
            text, blocks = rt.replier.views.usage("maintenance", USAGE)
            await ack(text=text, blocks=blocks, response_type="ephemeral")
            return

        async def work() -> None:
            async with answering(rt.replier, who, f"/maintenance {parsed.word}"):
                await _command(rt, service, who, parsed)

        await ack_command_then(rt.followups, rt.replier, ack, f"maintenance-{parsed.word}", work)

    app.command("/maintenance")(handle_maintenance_command)


async def _command(
    rt: MaintenanceRuntime, service: maintenance.MaintenanceService, who: Invocation, parsed: Parsed
) -> None:
    answer = who.response_url or ""
    say = rt.replier.views.said  # a status page refusal, in mrkdwn from the phrase book
    if parsed.word == "list":
        windows = await service.upcoming(who.user_id)
        events = await service.status_page_events(windows)
        said = rt.templates.render("maintenance_list", contexts.maintenance_list(windows, rt.catalog.timezone, events))
    elif parsed.word == "reschedule":
        assert parsed.window_id is not None and parsed.starts_at is not None
        window = await service.reschedule(
            parsed.window_id, starts_at=parsed.starts_at, length=parsed.length, actor=who.user_id
        )
        offer = await service.offer_public(window, "reschedule", requested=None, user=who.user_id)
        said = rt.templates.render(
            "maintenance_reply", contexts.maintenance_reply("rescheduled", window.id, offer=offer, say=say)
        )
    elif parsed.word in _BY_ID:
        assert parsed.window_id is not None
        step = {"cancel": service.cancel, "start": service.start_now, "complete": service.complete_now}
        window = await step[parsed.word](parsed.window_id, actor=who.user_id)
        offer = await service.offer_public(window, parsed.word, requested=None, user=who.user_id)
        reply = {"cancel": "cancelled", "start": "started", "complete": "completed"}[parsed.word]
        said = rt.templates.render(
            "maintenance_reply", contexts.maintenance_reply(reply, window.id, offer=offer, say=say)
        )
    else:
        assert parsed.starts_at is not None
        window = await service.schedule(
            starts_at=parsed.starts_at,
            length=parsed.length,
            purpose=parsed.purpose,
            services=parsed.services,
            created_by=who.user_id,
        )
        offer = await service.offer_public(window, "create", requested=parsed.publish, user=who.user_id)
        context = contexts.maintenance_reply(
            "scheduled",
            window.id,
            window.channel_id,
            notice=window.starts_at - window.created_at,
            ahead=maintenance.ANNOUNCE_AHEAD,
            offer=offer,
            say=say,
        )
        said = rt.templates.render("maintenance_reply", context)
    await rt.slack.respond(answer, said.text, said.blocks)
