"""`/runbook guide [runbook] [section]`: walk the on-call through an imported runbook, in a thread.

Without arguments the guides are a menu; with a runbook, its sections (with their symptoms); with a
section, a message in the channel with the symptoms, the steps as buttons and whom to escalate to.
A step's button names only its place in the guide; the click looks the step up in the loaded
guides and goes through exactly the path a typed `/runbook` command takes (parse, policy as the
clicker, run now when read-only, preview and Confirm when it changes things), answering in the
guide's thread. A section with a time limit gets a reminder in its thread when the limit is up
(a scheduled job, claimed once across replicas).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import errors
from bot.comms import guide_events
from bot.guides.model import Guide, GuideStep, Section
from bot.ids import ActionId, numbered_action
from bot.runbooks import parser
from bot.runbooks.engine import Invocation
from bot.runbooks.model import Procedure
from bot.runbooks.policy import VIEWER_ROLE
from bot.scheduler import Job
from bot.slack import guide_contexts as contexts
from bot.slack.blocks import Blocks
from bot.slack.followup import ack_click_then
from bot.slack.guide_runtime import GuideRuntime
from bot.slack.replies import action_invocation, answering
from bot.slack.runbook_requests import run_parsed
from bot.slack.subcommands import Subcommands
from bot.templating import Templates

log = structlog.get_logger(__name__)

USAGE = "/runbook guide [runbook] [section] [--incident N]"
REMINDER_KIND = "guide-escalation"


# The words of errors; the messages themselves are templates (guide_*), and so are the incident timeline's
# entries (stored as data by bot/comms/guide_events.py, worded by incident_timeline).
def _read_value(body: dict[str, Any]) -> dict[str, Any]:
    raw = str((body.get("actions") or [{}])[0].get("value", ""))
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise errors.UserError("guide_step_gone")
    return data


def _guide(rt: GuideRuntime, name: object) -> Guide:
    guide = rt.guides.get(str(name))
    if guide is None:
        raise parser.unknown_name_error("runbook", str(name), list(rt.guides), usage=USAGE)
    return guide


def _section(guide: Guide, index: object) -> Section:
    if type(index) is not int or not 0 <= index < len(guide.sections):  # JSON true is no index
        raise errors.UserError("guide_step_gone")
    return guide.sections[index]


def _step(guide: Guide, section_index: object, step_index: object) -> GuideStep:
    section = _section(guide, section_index)
    if type(step_index) is not int or not 0 <= step_index < len(section.steps):
        raise errors.UserError("guide_step_gone")
    return section.steps[step_index]


# ── views (the templates guide_menu, guide_sections, guide_section; values from guide_contexts) ─────────


def guides_menu(templates: Templates, guides: Sequence[Guide]) -> tuple[str, Blocks]:
    shown = templates.render("guide_menu", contexts.menu(guides))
    return shown.text, shown.blocks


def sections_menu(templates: Templates, guide: Guide) -> tuple[str, Blocks]:
    shown = templates.render("guide_sections", contexts.sections(guide))
    return shown.text, shown.blocks


def section_message(
    templates: Templates,
    procedures: Mapping[str, Procedure],
    guide: Guide,
    section_index: int,
    incident_id: int | None = None,
) -> tuple[str, Blocks]:
    shown = templates.render("guide_section", contexts.section(procedures, guide, section_index, incident_id))
    return shown.text, shown.blocks


# ── listeners and the command ────────────────────────────────────────────────────────────────────────


def _incident_option(words: Sequence[str]) -> tuple[list[str], int | None]:
    """`… --incident 12` (or `--incident=12`) → the other words and 12."""
    rest: list[str] = []
    incident: str | None = None
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--incident":
            incident = words[i + 1] if i + 1 < len(words) else ""
            i += 2
            continue
        if word.startswith("--incident="):
            incident = word.split("=", 1)[1]
        else:
            rest.append(word)
        i += 1
    if incident is None:
        return rest, None
    if not incident.lstrip("#").isdigit() or len(incident) > 12:
        raise errors.UserError("guide_incident_number", usage=USAGE)
    return rest, int(incident.lstrip("#"))


async def answer_guide(rt: GuideRuntime, who: Invocation, words: Sequence[str]) -> None:
    """`/runbook guide …`, after the ack (the `/runbook` listener answers its errors)."""
    await rt.policy.check_role(who.user_id, VIEWER_ROLE, errors.Said("doing_open_guides"))
    words, incident_id = _incident_option(words)
    if incident_id is not None:
        incident = await rt.incidents.get(incident_id)
        if incident is None or not incident.open:
            raise errors.NotFoundError("no_open_incident", incident=incident_id, usage=USAGE)
    if not words:
        menu = guides_menu(rt.templates, sorted(rt.guides.values(), key=lambda g: g.name))
        await rt.requests.slack.respond(who.response_url or "", *menu)
        return
    guide = _guide(rt, words[0].lower())
    if len(words) == 1:
        await rt.requests.slack.respond(who.response_url or "", *sections_menu(rt.templates, guide))
        return
    wanted = " ".join(words[1:])
    section = guide.find_section(wanted)
    if section is None:
        raise parser.unknown_name_error("section", wanted, [s.title for s in guide.sections], usage=USAGE)
    await open_section(rt, who, guide, guide.sections.index(section), incident_id=incident_id)


async def open_section(
    rt: GuideRuntime,
    who: Invocation,
    guide: Guide,
    section_index: int,
    *,
    incident_id: int | None = None,
) -> str:
    """Post the section in the channel, start its thread and its escalation reminder; the message ts.

    For an incident, the opening goes on its timeline and the session remembers the link.
    """
    section = guide.sections[section_index]
    slack = rt.requests.slack
    text, blocks = section_message(rt.templates, rt.requests.procedures, guide, section_index, incident_id)
    ts = await slack.post_message(who.channel_id, text, blocks)
    now = rt.clock()
    await rt.sessions.opened(
        channel_id=who.channel_id,
        message_ts=ts,
        guide=guide.name,
        section=section.title,
        user_id=who.user_id,
        at=now,
        incident_id=incident_id,
    )
    if incident_id is not None:
        event = guide_events.opened(guide.title, section.title)
        await rt.incidents.add_event(incident_id, at=now, kind=guide_events.KIND, actor=who.user_id, text=event)
    escalation = guide.sections[section_index].escalation
    if escalation is not None and escalation.after_minutes:
        await rt.scheduler.schedule(
            REMINDER_KIND,
            f"guide:{who.channel_id}:{ts}",
            rt.clock() + timedelta(minutes=escalation.after_minutes),
            {"channel": who.channel_id, "ts": ts, "guide": guide.name, "section": section_index},
        )
    opened = rt.templates.render("guide_started", contexts.started(who.user_id))
    await slack.post_message(who.channel_id, opened.text, opened.blocks, thread_ts=ts)
    log.info("guide opened", guide=guide.name, section=section_index, user=who.user_id, channel=who.channel_id)
    return ts


async def _run_step(rt: GuideRuntime, who: Invocation, step: GuideStep, thread_ts: str) -> None:
    if step.procedure == "health":
        await rt.health_step(who, step.args or None, thread_ts)
        return
    await run_parsed(rt.requests, who, rt.requests.parse(step.command_text()), thread_ts=thread_ts)


async def _record_step(rt: GuideRuntime, who: Invocation, step: GuideStep, thread_ts: str) -> None:
    """A step asked for from a guide opened for an incident goes on that incident's timeline."""
    incident_id = await rt.sessions.incident_of(who.channel_id, thread_ts)
    if incident_id is not None:
        event = guide_events.step(step.command_text())
        await rt.incidents.add_event(incident_id, at=rt.clock(), kind=guide_events.KIND, actor=who.user_id, text=event)


def register(app: AsyncApp, subcommands: Subcommands, rt: GuideRuntime) -> None:
    """`/runbook guide` (added to the `/runbook` subcommands), its buttons and its reminder job."""

    async def answer(who: Invocation, words: Sequence[str]) -> None:
        await answer_guide(rt, who, words)

    # A click's work runs on the follow-up queue like every other surface's: a full queue is answered
    # busy, and a stopping bot waits for it instead of abandoning it in bolt's own task.
    async def handle_guide_open_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        who = action_invocation(body)

        async def work() -> None:
            async with answering(rt.replier, who, "that guide"):
                await rt.policy.check_role(who.user_id, VIEWER_ROLE, errors.Said("doing_open_guides"))
                value = _read_value(body)
                guide = _guide(rt, value.get("g"))
                if "s" not in value:
                    await rt.requests.slack.respond(who.response_url or "", *sections_menu(rt.templates, guide))
                    return
                _section(guide, value["s"])
                await open_section(rt, who, guide, value["s"])

        await ack_click_then(rt.followups, rt.replier, ack, body, "guide-open", work)

    async def handle_guide_step_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        who = action_invocation(body)

        async def work() -> None:
            async with answering(rt.replier, who, "that guide step", changes=True):
                value = _read_value(body)
                step = _step(_guide(rt, value.get("g")), value.get("s"), value.get("i"))
                message = body.get("message") or {}
                thread_ts = str(message.get("thread_ts") or message.get("ts") or body["container"]["message_ts"])
                await _run_step(rt, who, step, thread_ts)
                await _record_step(rt, who, step, thread_ts)

        await ack_click_then(rt.followups, rt.replier, ack, body, "guide-step", work)

    async def on_reminder(job: Job) -> None:
        payload = job.payload
        guide = rt.guides.get(str(payload.get("guide")))
        index = payload.get("section")
        if guide is None or not isinstance(index, int) or not 0 <= index < len(guide.sections):
            return  # the guide changed since; nothing sensible to remind of
        said = rt.templates.render("guide_reminder", contexts.reminder(guide, index))
        await rt.requests.slack.post_message(
            str(payload["channel"]), said.text, said.blocks, thread_ts=str(payload["ts"])
        )

    subcommands.add("guide", USAGE, answer)
    app.action(numbered_action(ActionId.GUIDE_OPEN))(handle_guide_open_action)
    app.action(numbered_action(ActionId.GUIDE_STEP))(handle_guide_step_action)
    rt.scheduler.on(REMINDER_KIND, on_reminder)
