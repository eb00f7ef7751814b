"""The status page and the pager from `/incident`: the declare modal's choice, the preview's buttons,
and `/incident oncall`. Registered beside `/incident` (bot/slack/incident_command.py calls in here).
"""

from __future__ import annotations

from dataclasses import dataclass
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
from bot.targets.pagerduty import OnCall, PagerDuty

log = structlog.get_logger(__name__)
STATUS_PAGE_BLOCK = "status_page"
PUBLIC_STATUS_BLOCK = "public_status"
_CHOICES = {"default": None, "post": True, "skip": False}


@dataclass(frozen=True)
class StatusPageOffer:
    """What became of the status page after a declare or resolve; incident_reply words it."""

    action: str  # "create", "update" or "resolve": what the preview would post
    refused: str = ""  # why no preview was proposed (the refusal's message); "" when one waits for a Confirm
    status: str = ""  # the new public status an update's preview shows


@dataclass(frozen=True)
class OnCallAnswer:
    """`/incident oncall <service>` as data; incident_oncall words it."""

    service: str
    # "" (the list below), "not_configured" (no REST API token), "no_policy" (the service has no escalation
    # policy), "unavailable" (PagerDuty did not answer: `detail`), "nobody" (no one on call in `policy`)
    problem: str = ""
    policy: str = ""
    detail: str = ""
    on_call: tuple[OnCall, ...] = ()


def status_page_choice(catalog: Catalog) -> dict[str, Any]:
    """The declare modal's "update the status page" choice, for incident_declare_modal to word; by default,
    as the catalog says per severity. The block id and the option values are what `chosen` reads back."""
    assert catalog.statuspage is not None
    by_default = [safe(name, 10) for name, r in catalog.statuspage.severities.items() if r.default]
    return {"block": STATUS_PAGE_BLOCK, "options": {v: v for v in _CHOICES}, "by_default": by_default}


def chosen_status(view: dict[str, Any]) -> str:
    """The update modal's public status, or "" (none chosen, or a value that is not one of ours)."""
    element = view.get("state", {}).get("values", {}).get(PUBLIC_STATUS_BLOCK, {}).get(PUBLIC_STATUS_BLOCK) or {}
    value = str((element.get("selected_option") or {}).get("value", ""))
    return value if value in UPDATE_STATUSES else ""


async def public_status_choice(public: PublicComms | None, incident_id: int) -> dict[str, Any] | None:
    """The update modal's optional new public status, for incident_update_modal: only when the incident
    is on a status page (a page that refused its creation does not count). The block id and the
    statuses are what `chosen_status` reads back."""
    if public is None or not await public.store.public_pages(incident_id):
        return None
    return {"block": PUBLIC_STATUS_BLOCK, "statuses": list(UPDATE_STATUSES)}


def chosen(view: dict[str, Any]) -> bool | None:
    """The modal's status page choice: True, False, or None for the severity's default."""
    value = (view.get("state", {}).get("values", {}).get(STATUS_PAGE_BLOCK, {}).get(STATUS_PAGE_BLOCK) or {}).get(
        "selected_option"
    ) or {}
    return _CHOICES.get(str(value.get("value", "default")))


async def offer_declared(
    public: PublicComms | None, incident: Incident, *, requested: bool | None, user: str
) -> StatusPageOffer | None:
    """After a declaration: the status page preview when asked for (or the severity's default); None if not asked."""
    if public is None:
        return None
    wanted = public.offered_by_default(incident.severity) if requested is None else requested
    if not wanted:
        return None
    try:
        await public.propose(incident, action="create", status="investigating", requested_by=user)
    except errors.UserError as exc:
        return StatusPageOffer("create", refused=exc.message)
    return StatusPageOffer("create")


async def offer_resolved(public: PublicComms | None, incident: Incident, *, user: str) -> StatusPageOffer | None:
    """After a resolve: if the incident is public, the preview of its resolution (components back to operational)."""
    if public is None or not await public.store.public_pages(incident.id):
        return None
    try:
        await public.propose(incident, action="resolve", status="resolved", requested_by=user)
    except errors.UserError as exc:
        return StatusPageOffer("resolve", refused=exc.message)
    return StatusPageOffer("resolve")


async def on_call(pager: PagerDuty | None, catalog: Catalog, policy: Policy, service: str, user: str) -> OnCallAnswer:
    """Who is on call for a service now, from PagerDuty's REST API; what is missing when that is not configured."""
    await policy.check_comms(user, Comms.READ_INCIDENTS)
    if service not in catalog.services:
        raise errors.NotFoundError("unknown_service", service=service[:60], known=sorted(catalog.services))
    config = catalog.pagerduty
    route = config.services.get(service) if config else None
    if pager is None or config is None or not config.api_token_env:
        return OnCallAnswer(service, "not_configured")
    if route is None or not route.escalation_policy:
        return OnCallAnswer(service, "no_policy")
    policy_name = route.escalation_policy
    try:
        found = await pager.on_call(token_env=config.api_token_env, escalation_policy=policy_name)
    except errors.UnavailableError as exc:
        return OnCallAnswer(service, "unavailable", policy=policy_name, detail=exc.detail)
    if not found:
        return OnCallAnswer(service, "nobody", policy=policy_name)
    return OnCallAnswer(service, policy=policy_name, on_call=tuple(found))


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
