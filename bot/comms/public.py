"""What customers read on the status page: drafted from the public templates, previewed, then confirmed.

Nothing public is sent without a Confirm: proposing writes a draft and posts its preview in the
incident's thread; the click of someone the catalog's `comms.incident.publish` allows (checked at
request and at click) turns the draft into an outbox row in one transaction, exactly once.
The text comes from templates/public_*.yml.j2 and the catalog's public service names only: what
engineers type in Slack never reaches customers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog

from bot import errors
from bot.catalog import Catalog
from bot.catalog_outbound import StatuspageConfig
from bot.comms import contexts
from bot.comms.incidents import Blocks
from bot.comms.outbox import STATUSPAGE, Outbound
from bot.comms.records import Incident
from bot.ids import ActionId
from bot.runbooks.engine import Clock
from bot.runbooks.policy import Comms, Policy
from bot.templating import Templates

log = structlog.get_logger(__name__)

UPDATE_STATUSES = ("investigating", "identified", "monitoring")
PUBLIC_EVENT = "public"
_CONDITION = {
    "degraded_performance": "degraded performance",
    "partial_outage": "a partial outage",
    "major_outage": "an outage",
}
_PROBLEM = {
    "degraded_performance": "degraded performance",
    "partial_outage": "partial outage",
    "major_outage": "outage",
}
_TEMPLATE = {"create": "public_incident", "update": "public_update", "resolve": "public_resolved"}


@dataclass(frozen=True)
class PublicDraft:
    id: int
    incident_id: int
    action: str  # create, update, resolve
    payload: Mapping[str, Any]  # {"page_id": …, "incident": the Statuspage body}
    requested_by: str
    state: str  # pending, confirmed, cancelled
    channel_id: str | None
    message_ts: str | None


class PublicStore(Protocol):
    async def create_draft(
        self, incident_id: int, *, action: str, payload: Mapping[str, Any], requested_by: str, at: datetime
    ) -> PublicDraft: ...

    async def set_draft_message(self, draft_id: int, *, channel_id: str, ts: str) -> None: ...

    async def get_draft(self, draft_id: int) -> PublicDraft | None: ...

    async def decide_draft(
        self, draft_id: int, *, confirm: bool, by: str, at: datetime, event_text: str, outbox: Outbound | None
    ) -> PublicDraft | None:
        """pending → confirmed (with its outbox row and timeline line) or cancelled, once; None when already decided."""
        ...

    async def is_public(self, incident_id: int) -> bool:
        """Whether a create was confirmed for the incident (there is, or will be, a public incident)."""
        ...


class Messenger(Protocol):
    async def post_message(
        self, channel: str, text: str, blocks: Blocks | None = None, *, thread_ts: str | None = None
    ) -> str: ...

    async def update_message(self, channel: str, ts: str, text: str, blocks: Blocks | None = None) -> None: ...


@dataclass(frozen=True)
class Page:
    page_id: str
    components: tuple[str, ...]
    names: tuple[str, ...]


def page_of(config: StatuspageConfig, services: Sequence[str]) -> Page | None:
    """The page of the incident's first service that has one, with every component of its services on it."""
    listed = [config.services[s] for s in services if s in config.services]
    if not listed:
        return None
    page_id = listed[0].page_id
    on_page = [s for s in listed if s.page_id == page_id]
    components = tuple(dict.fromkeys(c for s in on_page for c in s.components))
    return Page(page_id, components, tuple(s.name for s in on_page))


def _joined(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@dataclass
class PublicComms:
    config: StatuspageConfig
    store: PublicStore
    slack: Messenger
    policy: Policy
    catalog: Catalog
    templates: Templates
    clock: Clock

    def offered_by_default(self, severity: str) -> bool:
        return self.config.default_for(severity)

    def draft(self, incident: Incident, action: str, status: str) -> dict[str, Any]:
        """The Statuspage body for this incident and step; UserError when it cannot go public."""
        page = page_of(self.config, incident.services)
        if page is None:
            with_page = sorted(self.config.services)
            raise errors.UserError("no_status_page_service", incident=incident.id, with_page=with_page)
        rule = self.config.severities.get(incident.severity)
        if rule is None:
            raise errors.UserError("severity_not_public", severity=incident.severity)
        context = {
            "services": _joined(page.names),
            "plural": len(page.names) > 1,
            "condition": _CONDITION[rule.component_status],  # "an outage": after "of", "reports of"
            "problem": _PROBLEM[rule.component_status],  # "outage": after "the"
            "status": status,
            "impact": rule.impact,
        }
        text = self.templates.render_public(_TEMPLATE[action], context)
        body: dict[str, Any] = {"status": status, "body": text["body"]}
        if action == "create":
            body |= {
                "name": text["name"],
                "impact_override": rule.impact,
                "component_ids": list(page.components),
                "components": dict.fromkeys(page.components, rule.component_status),
                "deliver_notifications": True,
            }
        elif action == "resolve":
            body["components"] = dict.fromkeys(page.components, "operational")
        return {"page_id": page.page_id, "name": text["name"], "incident": body}

    async def propose(self, incident: Incident, *, action: str, status: str, requested_by: str) -> PublicDraft:
        """Write the draft and post its preview in the incident's thread."""
        await self.policy.check_comms(requested_by, Comms.PUBLISH_INCIDENT)
        if action != "create" and not await self.store.is_public(incident.id):
            raise errors.UserError("incident_not_public", incident=incident.id)
        payload = self.draft(incident, action, status)
        draft = await self.store.create_draft(
            incident.id, action=action, payload=payload, requested_by=requested_by, at=self.clock()
        )
        rendered = self.templates.render("incident_public_preview", preview_context(draft))
        ts = await self.slack.post_message(
            incident.channel_id, rendered.text, rendered.blocks, thread_ts=incident.message_ts
        )
        await self.store.set_draft_message(draft.id, channel_id=incident.channel_id, ts=ts)
        return draft

    async def decide(self, draft_id: int, *, user_id: str, confirm: bool) -> PublicDraft:
        """The click on a preview: policy again (who clicked), then pending → confirmed/cancelled once."""
        await self.policy.check_comms(user_id, Comms.PUBLISH_INCIDENT)
        draft = await self.store.get_draft(draft_id)
        if draft is None:
            raise errors.NotFoundError("public_preview_gone")
        verb = "confirmed" if confirm else "cancelled"
        outbox = Outbound(STATUSPAGE, draft.action, draft.payload) if confirm else None
        decided = await self.store.decide_draft(
            draft_id,
            confirm=confirm,
            by=user_id,
            at=self.clock(),
            event_text=f"status page {draft.action} {verb}: {draft.payload.get('name', '')}",
            outbox=outbox,
        )
        if decided is None:  # someone decided between our read and our write (a double click, two people)
            now = await self.store.get_draft(draft_id)
            raise errors.UserError("public_preview_decided", state=now.state if now else draft.state)
        if decided.channel_id and decided.message_ts:
            shown = "Queued for the status page" if confirm else "Not posted"
            context = preview_context(decided, decided=f"{shown} ({verb} by {contexts.mention(user_id)}).")
            rendered = self.templates.render("incident_public_preview", context)
            await self.slack.update_message(decided.channel_id, decided.message_ts, rendered.text, rendered.blocks)
        log.info("public draft decided", draft=draft_id, incident=draft.incident_id, confirmed=confirm)
        return decided


def preview_context(draft: PublicDraft, *, decided: str = "") -> dict[str, Any]:
    body = draft.payload.get("incident", {})
    components = body.get("components") or {}
    return {
        "id": draft.incident_id,
        "action": draft.action,
        "status": contexts.safe(body.get("status", ""), 40),
        "impact": contexts.safe(body.get("impact_override", ""), 40),
        "page_id": contexts.safe(draft.payload.get("page_id", ""), 60),
        "name": contexts.safe(draft.payload.get("name", ""), 200),
        "body": contexts.safe(body.get("body", "")),
        "components": contexts.safe(", ".join(f"{c} → {s}" for c, s in components.items()) or "unchanged", 500),
        "requested_by": contexts.mention(draft.requested_by),
        "decided": decided,
        "actions": {"confirm": ActionId.PUBLIC_CONFIRM.value, "cancel": ActionId.PUBLIC_CANCEL.value},
        "value": str(draft.id),
    }
