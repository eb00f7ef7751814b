"""The status page and the pager from `/incident`: the declare modal's choice, the preview's buttons,
and `/incident oncall`. Registered beside `/incident` (bot/slack/incident_command.py calls in here).
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import errors
from bot.catalog import Catalog
from bot.comms.contexts import safe
from bot.comms.public import UPDATE_STATUSES, PublicComms
from bot.comms.records import Incident
from bot.ids import ActionId
from bot.runbooks.engine import Invocation
from bot.runbooks.policy import Comms, Policy
from bot.slack.replies import Replier, action_invocation, answering
from bot.targets.pagerduty import PagerDuty

log = structlog.get_logger(__name__)
STATUS_PAGE_BLOCK = "status_page"
PUBLIC_STATUS_BLOCK = "public_status"
_CHOICES = {"default": None, "post": True, "skip": False}


def status_page_block(catalog: Catalog) -> dict[str, Any]:
    """The declare modal's "update the status page" choice; by default, as the catalog says per severity."""
    assert catalog.statuspage is not None
    by_default = ", ".join(n for n, r in catalog.statuspage.severities.items() if r.default) or "none"
    options = [
        {
            "text": {"type": "plain_text", "text": f"As the severity says (yes for {by_default})"[:75]},
            "value": "default",
        },
        {"text": {"type": "plain_text", "text": "Yes: preview a status page incident"}, "value": "post"},
        {"text": {"type": "plain_text", "text": "No"}, "value": "skip"},
    ]
    return {
        "type": "input",
        "block_id": STATUS_PAGE_BLOCK,
        "label": {"type": "plain_text", "text": "Update the status page"},
        "element": {
            "type": "static_select",
            "action_id": STATUS_PAGE_BLOCK,
            "options": options,
            "initial_option": options[0],
        },
    }


def public_status_block() -> dict[str, Any]:
    """The update modal's optional new public status (only offered when the incident is on the status page)."""
    options = [{"text": {"type": "plain_text", "text": status}, "value": status} for status in UPDATE_STATUSES]
    return {
        "type": "input",
        "block_id": PUBLIC_STATUS_BLOCK,
        "optional": True,
        "label": {"type": "plain_text", "text": "Status page: new status (preview first)"},
        "element": {"type": "static_select", "action_id": PUBLIC_STATUS_BLOCK, "options": options},
    }


def chosen_status(view: dict[str, Any]) -> str:
    """The update modal's public status, or "" (none chosen, or a value that is not one of ours)."""
    element = view.get("state", {}).get("values", {}).get(PUBLIC_STATUS_BLOCK, {}).get(PUBLIC_STATUS_BLOCK) or {}
    value = str((element.get("selected_option") or {}).get("value", ""))
    return value if value in UPDATE_STATUSES else ""


async def with_public_status(public: PublicComms | None, modal: dict[str, Any], incident_id: int) -> dict[str, Any]:
    """The update modal, with the public status choice when the incident is on the status page."""
    if public is not None and await public.store.is_public(incident_id):
        modal["blocks"].append(public_status_block())
    return modal


def chosen(view: dict[str, Any]) -> bool | None:
    """The modal's status page choice: True, False, or None for the severity's default."""
    value = (view.get("state", {}).get("values", {}).get(STATUS_PAGE_BLOCK, {}).get(STATUS_PAGE_BLOCK) or {}).get(
        "selected_option"
    ) or {}
    return _CHOICES.get(str(value.get("value", "default")))


async def offer_declared(public: PublicComms | None, incident: Incident, *, requested: bool | None, user: str) -> str:
    """After a declaration: the status page preview when asked for (or the severity's default); a line saying so."""
    if public is None:
        return ""
    wanted = public.offered_by_default(incident.severity) if requested is None else requested
    if not wanted:
        return ""
    try:
        await public.propose(incident, action="create", status="investigating", requested_by=user)
    except errors.UserError as exc:
        return f" Not offered for the status page: {exc.message}"
    return " A status page preview waits for a Confirm in its thread."


async def offer_resolved(public: PublicComms | None, incident: Incident, *, user: str) -> str:
    """After a resolve: if the incident is public, the preview of its resolution (components back to operational)."""
    if public is None or not await public.store.is_public(incident.id):
        return ""
    try:
        await public.propose(incident, action="resolve", status="resolved", requested_by=user)
    except errors.UserError as exc:
        return f" The status page still shows it: {exc.message}"
    return " A status page preview of the resolution waits for a Confirm in its thread."


async def on_call_text(pager: PagerDuty | None, catalog: Catalog, policy: Policy, service: str, user: str) -> str:
    """Who is on call for a service now, from PagerDuty's REST API; a clear line when that is not configured."""
    await policy.check_comms(user, Comms.READ_INCIDENTS)
    if service not in catalog.services:
        raise errors.NotFoundError("unknown_service", service=service[:60], known=sorted(catalog.services))
    config = catalog.pagerduty
    route = config.services.get(service) if config else None
    if pager is None or config is None or not config.api_token_env:
        return "On-call lookup is not configured: the catalog's `pagerduty.api_token_env` names no REST API token."
    if route is None or not route.escalation_policy:
        return f"No escalation policy for {service}: set `pagerduty.services.{service}.escalation_policy`."
    try:
        found = await pager.on_call(token_env=config.api_token_env, escalation_policy=route.escalation_policy)
    except errors.UnavailableError as exc:
        return f"Could not ask PagerDuty who is on call for {service}: {safe(exc.detail, 300)}"
    if not found:
        return f"Nobody is on call for {service} in escalation policy {safe(route.escalation_policy, 40)}."
    lines = [
        f"• L{o.level}: {safe(o.name, 100)}" + (f" ({safe(o.schedule, 100)})" if o.schedule else "") for o in found
    ]
    return f"On call for {service} now:\n" + "\n".join(lines)


def register(app: AsyncApp, replier: Replier, public: PublicComms) -> None:
    async def handle_public_confirm_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await _decide(replier, public, action_invocation(body), body, confirm=True)

    async def handle_public_cancel_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await _decide(replier, public, action_invocation(body), body, confirm=False)

    app.action(ActionId.PUBLIC_CONFIRM.value)(handle_public_confirm_action)
    app.action(ActionId.PUBLIC_CANCEL.value)(handle_public_cancel_action)


async def _decide(
    replier: Replier, public: PublicComms, who: Invocation, body: dict[str, Any], *, confirm: bool
) -> None:
    async with answering(replier, who, "that click", changes=confirm):
        raw = str((body.get("actions") or [{}])[0].get("value", ""))
        if not raw.isdigit() or len(raw) > 12:
            raise errors.UserError("not_a_preview_button")
        await public.decide(int(raw), user_id=who.user_id, confirm=confirm)
