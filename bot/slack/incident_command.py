"""`/incident …`, its modals, and the reminder buttons. Parsing happens before the ack, with no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import errors
from bot.catalog import Catalog
from bot.comms import incidents
from bot.comms.incidents import IncidentService
from bot.comms.public import UPDATE_STATUSES, PublicComms
from bot.followups import FollowUps
from bot.ids import ActionId, CallbackId
from bot.runbooks import parser
from bot.runbooks.engine import Invocation
from bot.runbooks.policy import Comms
from bot.slack import incident_contexts as contexts
from bot.slack import incident_public
from bot.slack import incident_views as views
from bot.slack.followup import ack_click_then, ack_command_then, ack_then
from bot.slack.replies import Replier, action_invocation, answering, clicked_thread, command_invocation
from bot.slack.webapi import SlackWebApi
from bot.targets.pagerduty import PagerDuty
from bot.templating import Templates

log = structlog.get_logger(__name__)
USAGE = (
    '/incident declare [P1 "title" [--service NAME] [--public|--no-public]] · '
    "/incident update <id> [--public investigating|identified|monitoring] [text] · "
    "/incident resolve <id> [root cause] · /incident list · /incident timeline <id> · /incident oncall <service>"
)


@dataclass(frozen=True)
class Parsed:
    word: str
    incident_id: int | None = None
    text: str = ""
    severity: str = ""
    services: tuple[str, ...] = ()
    publish: bool | None = None  # --public / --no-public; None: the severity's default from the catalog
    public_status: str = ""  # update --public <status>


def _declare_flags(rest: list[str]) -> tuple[list[str], tuple[str, ...], bool | None]:
    """The quick form's words and its flags: `--service NAME` (repeatable), `--public`, `--no-public`."""
    words: list[str] = []
    services: list[str] = []
    publish: bool | None = None
    words_left = iter(rest)
    for word in words_left:
        if word == "--service":
            name = next(words_left, "")
            if not name:
                raise errors.UserError("service_flag_needs_name")
            services.append(name)
        elif word in ("--public", "--no-public"):
            publish = word == "--public"
        else:
            words.append(word)
    return words, tuple(services), publish


def parse(text: str, service: incidents.IncidentService) -> Parsed:
    """`/incident` text → what to do; a UserError (shown with the usage) when it makes no sense."""
    tokens = parser.tokenize(text)
    word = tokens[0].lower() if tokens else "help"
    rest = tokens[1:]
    if word in ("help", "list"):
        return Parsed(word)
    if word == "declare":
        if not rest:
            return Parsed(word)
        words, services, publish = _declare_flags(rest)
        if len(words) < 2:
            raise errors.UserError("quick_declare_form")
        return Parsed(
            word,
            severity=service.check_severity(words[0]),
            text=" ".join(words[1:]),
            services=tuple(service.check_services(services)),
            publish=publish,
        )
    if word == "oncall":
        if len(rest) != 1:
            raise errors.UserError("oncall_which_service")
        return Parsed(word, text=rest[0])
    if word in ("update", "resolve", "timeline"):
        if not rest:
            raise errors.UserError("which_incident", command=errors.Code(f"/incident {word} <id>"))
        if word == "update" and rest[1:2] == ["--public"]:
            status = rest[2].lower() if len(rest) > 2 else ""
            if status not in UPDATE_STATUSES:
                raise errors.UserError("public_needs_status", statuses=list(UPDATE_STATUSES))
            return Parsed(word, incident_id=incidents.parse_id(rest[0]), text=" ".join(rest[3:]), public_status=status)
        return Parsed(word, incident_id=incidents.parse_id(rest[0]), text=" ".join(rest[1:]))
    raise parser.unknown_name_error("subcommand", word, ["declare", "update", "resolve", "list", "timeline", "oncall"])


@dataclass(frozen=True)
class IncidentRuntime:
    """What `/incident`, its modals and the reminder buttons use; built by the composition root."""

    slack: SlackWebApi
    catalog: Catalog
    incidents: IncidentService
    templates: Templates  # incident_list, incident_timeline, incident_reply
    followups: FollowUps  # the work after the ack, on the bounded queue /runbook uses
    replier: Replier  # errors, usage and outage answers (templates/reply_*)
    public: PublicComms | None = None  # the catalog has a `statuspage:` section
    pager: PagerDuty | None = None  # the catalog has a `pagerduty:` section (for `/incident oncall`)


def register(app: AsyncApp, rt: IncidentRuntime) -> None:
    service = rt.incidents

    async def handle_incident_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        who = command_invocation(command)
        try:
            parsed = parse(str(command.get("text", "")).strip(), service)
        except errors.UserError as exc:
            text, blocks = rt.replier.views.error(rt.replier.views.said(exc.said), USAGE)
            await ack(text=text, blocks=blocks, response_type="ephemeral")
            return
        if parsed.word == "help":
            text, blocks = rt.replier.views.usage("incident", USAGE)
            await ack(text=text, blocks=blocks, response_type="ephemeral")
            return

        async def work() -> None:
            async with answering(rt.replier, who, f"/incident {parsed.word}"):
                await _command(rt, service, who, parsed, command)

        await ack_command_then(rt.followups, rt.replier, ack, f"incident-{parsed.word}", work)

    async def handle_declare_submission(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        title = views.submitted(view, "title").strip()
        if not title:
            await ack(response_action="errors", errors={"title": errors.plain(errors.Said("incident_needs_title"))})
            return
        who = _view_invocation(body, view)

        async def work() -> None:
            async with answering(rt.replier, who, "declaring an incident"):
                await _declare_from_modal(rt, service, who, view)

        await ack_then(rt.followups, rt.replier, ack, who, "incident-declare", work)

    async def handle_update_submission(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        who = _view_invocation(body, view)

        async def work() -> None:
            async with answering(rt.replier, who, "posting an update"):
                incident = await service.post_update(
                    _incident_in(view), text=views.submitted(view, "update"), author=who.user_id
                )
                status = incident_public.chosen_status(view)
                if status and rt.public is not None:
                    await rt.public.propose(incident, action="update", status=status, requested_by=who.user_id)

        await ack_then(rt.followups, rt.replier, ack, who, "incident-update", work)

    async def handle_resolve_submission(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        who = _view_invocation(body, view)

        async def work() -> None:
            async with answering(rt.replier, who, "resolving an incident"):
                resolved = await service.resolve(
                    _incident_in(view),
                    actor=who.user_id,
                    root_cause=views.submitted(view, "root_cause"),
                    resolution=views.submitted(view, "resolution"),
                )
                public = await incident_public.offer_resolved(rt.public, resolved, user=who.user_id)
                if public and who.channel_id:
                    said = rt.templates.render(
                        "incident_reply", contexts.incident_reply("status_page", resolved.id, "", public=public)
                    )
                    await rt.slack.post_ephemeral(who.channel_id, who.user_id, said.text, said.blocks)

        await ack_then(rt.followups, rt.replier, ack, who, "incident-resolve", work)

    async def handle_post_update_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        # A trigger_id lives 3 s: the modal opens right after the ack, not from the follow-up queue, where
        # it could wait longer than that (or be refused as busy). Opening it is one read and one call.
        await ack()
        who = action_invocation(body)
        async with answering(rt.replier, who, "that click"):
            await _open_update(rt, service, who, body)

    async def handle_snooze_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        async def work() -> None:
            who = action_invocation(body)
            async with answering(rt.replier, who, "that click"):
                await _snooze(rt, service, who, body)

        await ack_click_then(rt.followups, rt.replier, ack, body, "incident-snooze", work)

    app.command("/incident")(handle_incident_command)
    app.view(CallbackId.INCIDENT_DECLARE.value)(handle_declare_submission)
    app.view(CallbackId.INCIDENT_UPDATE.value)(handle_update_submission)
    app.view(CallbackId.INCIDENT_RESOLVE.value)(handle_resolve_submission)
    app.action(ActionId.INCIDENT_POST_UPDATE.value)(handle_post_update_action)
    app.action(ActionId.INCIDENT_SNOOZE.value)(handle_snooze_action)
    if rt.public is not None:
        incident_public.register(app, rt.replier, rt.public)


async def _declare_from_modal(
    rt: IncidentRuntime, service: incidents.IncidentService, who: Invocation, view: dict[str, Any]
) -> None:
    incident = await service.declare(
        title=views.submitted(view, "title"),
        severity=views.submitted(view, "severity"),
        impact=views.submitted(view, "impact"),
        services=views.submitted(view, "services") or [],
        lead=views.submitted(view, "lead") or who.user_id,
        declared_by=who.user_id,
    )
    public = await incident_public.offer_declared(
        rt.public, incident, requested=incident_public.chosen(view), user=who.user_id
    )
    # The modal closes silently; tell the declarer where the notice went.
    if who.channel_id:
        said = rt.templates.render(
            "incident_reply", contexts.incident_reply("declared", incident.id, incident.channel_id, public=public)
        )
        await rt.slack.post_ephemeral(who.channel_id, who.user_id, said.text, said.blocks)


def _incident_in(view: dict[str, Any]) -> int:
    """The incident a modal is about; 0 (never an id) when the metadata was tampered with."""
    raw = str(views.metadata(view).get("incident", ""))
    return int(raw) if raw.isdigit() and len(raw) <= 12 else 0


def _view_invocation(body: dict[str, Any], view: dict[str, Any]) -> Invocation:
    channel = str(views.metadata(view).get("channel") or "")
    return Invocation(user_id=str(body["user"]["id"]), channel_id=channel, team_id=(body.get("team") or {}).get("id"))


def _clicked_id(body: dict[str, Any]) -> int:
    return incidents.parse_id(str((body.get("actions") or [{}])[0].get("value", "")))


async def _open_update(
    rt: IncidentRuntime, service: incidents.IncidentService, who: Invocation, body: dict[str, Any]
) -> None:
    incident = await service.load_for_change(_clicked_id(body), who.user_id, Comms.UPDATE_INCIDENT)
    public_status = await incident_public.public_status_choice(rt.public, incident.id)
    modal = views.update_modal(rt.templates, incident, channel_id=who.channel_id, public_status=public_status)
    await rt.slack.open_view(str(body["trigger_id"]), modal)


async def _snooze(
    rt: IncidentRuntime, service: incidents.IncidentService, who: Invocation, body: dict[str, Any]
) -> None:
    incident_id = _clicked_id(body)
    due = await service.snooze(incident_id, actor=who.user_id)
    said = rt.templates.render(
        "incident_reply",
        contexts.incident_reply("snoozed", incident_id, who.channel_id, due=due, timezone=rt.catalog.timezone),
    )
    thread = clicked_thread(body)
    if thread is not None:  # the reminder is a reply in the incident's thread: answer there
        await rt.slack.post_ephemeral(who.channel_id, who.user_id, said.text, said.blocks, thread_ts=thread)
    else:
        await rt.slack.respond(who.response_url or "", said.text, said.blocks)


async def _command(
    rt: IncidentRuntime, service: incidents.IncidentService, who: Invocation, parsed: Parsed, command: dict[str, Any]
) -> None:
    answer = who.response_url or ""
    channel = rt.catalog.channels.incidents
    if parsed.word == "declare" and not parsed.text:
        await service.check_may_declare(who.user_id)
        status_page = incident_public.status_page_choice(rt.catalog) if rt.public is not None else None
        modal = views.declare_modal(
            rt.templates, rt.catalog, user_id=who.user_id, channel_id=who.channel_id, status_page=status_page
        )
        await rt.slack.open_view(str(command["trigger_id"]), modal)
    elif parsed.word == "declare":
        incident = await service.declare(
            title=parsed.text,
            severity=parsed.severity,
            impact="",
            services=parsed.services,
            lead=who.user_id,
            declared_by=who.user_id,
        )
        public = await incident_public.offer_declared(rt.public, incident, requested=parsed.publish, user=who.user_id)
        await _reply(rt, answer, contexts.incident_reply("declared", incident.id, channel, public=public))
    elif parsed.word == "oncall":
        duty = await incident_public.on_call(rt.pager, rt.catalog, service.policy, parsed.text, who.user_id)
        shown = rt.templates.render("incident_oncall", contexts.on_call(duty))
        await rt.slack.respond(answer, shown.text, shown.blocks)
    elif parsed.word == "list":
        found = await service.open_incidents(who.user_id)
        listing = rt.templates.render("incident_list", contexts.incident_list(found, rt.catalog))
        await rt.slack.respond(answer, listing.text, listing.blocks)
    elif parsed.word == "timeline":
        assert parsed.incident_id is not None
        found_one, events = await service.timeline(parsed.incident_id, who.user_id)
        shown = rt.templates.render("incident_timeline", contexts.timeline(found_one, events, rt.catalog))
        await rt.slack.respond(answer, shown.text, shown.blocks)
    elif parsed.word == "update" and parsed.public_status:
        assert parsed.incident_id is not None
        await _public_update(rt, service, who, parsed)
    elif parsed.word == "update" and parsed.text:
        assert parsed.incident_id is not None
        await service.post_update(parsed.incident_id, text=parsed.text, author=who.user_id)
        await _reply(rt, answer, contexts.incident_reply("updated", parsed.incident_id, channel))
    elif parsed.word == "resolve" and parsed.text:
        assert parsed.incident_id is not None
        resolved = await service.resolve(
            parsed.incident_id,
            actor=who.user_id,
            root_cause=parsed.text,
            resolution=errors.plain(errors.Said("quick_resolution")),  # stored as said at the time
        )
        public = await incident_public.offer_resolved(rt.public, resolved, user=who.user_id)
        await _reply(rt, answer, contexts.incident_reply("resolved", parsed.incident_id, channel, public=public))
    else:
        assert parsed.incident_id is not None
        verb = Comms.UPDATE_INCIDENT if parsed.word == "update" else Comms.RESOLVE_INCIDENT
        incident = await service.load_for_change(parsed.incident_id, who.user_id, verb)
        if parsed.word == "update":
            public_status = await incident_public.public_status_choice(rt.public, incident.id)
            modal = views.update_modal(rt.templates, incident, channel_id=who.channel_id, public_status=public_status)
        else:
            modal = views.resolve_modal(rt.templates, incident, channel_id=who.channel_id)
        await rt.slack.open_view(str(command["trigger_id"]), modal)


async def _reply(rt: IncidentRuntime, response_url: str, context: dict[str, Any]) -> None:
    said = rt.templates.render("incident_reply", context)
    await rt.slack.respond(response_url, said.text, said.blocks)


async def _public_update(
    rt: IncidentRuntime, service: incidents.IncidentService, who: Invocation, parsed: Parsed
) -> None:
    """`/incident update <id> --public <status> [text]`: the Slack update (when there is text), then the
    status page preview of the new public status."""
    assert parsed.incident_id is not None
    if rt.public is None:
        raise errors.UserError("no_status_page")
    if parsed.text:
        incident = await service.post_update(parsed.incident_id, text=parsed.text, author=who.user_id)
    else:
        incident = await service.load_for_change(parsed.incident_id, who.user_id, Comms.UPDATE_INCIDENT)
    await rt.public.propose(incident, action="update", status=parsed.public_status, requested_by=who.user_id)
    offer = incident_public.StatusPageOffer("update", status=parsed.public_status)
    await _reply(rt, who.response_url or "", contexts.incident_reply("status_page", incident.id, "", public=offer))
