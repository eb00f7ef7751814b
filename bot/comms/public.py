"""What customers read on the status page: drafted from the public templates, previewed, then confirmed.

Nothing public is sent without a Confirm: proposing writes a draft and posts its preview in the
incident's thread; the click of someone the catalog's `comms.incident.publish` allows (checked at
request and at click) turns the draft into an outbox row in one transaction, exactly once.
The text comes from templates/public_*.yml.j2 and the catalog's public service names only: what
engineers type in Slack never reaches customers. An incident whose services are on several Statuspage
pages is posted to each (each page's own services, components and text, its own outbox row and
Statuspage incident); one preview shows every page and one Confirm queues them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog

from bot import errors
from bot.catalog import Catalog
from bot.catalog_outbound import PublicSeverity, StatuspageConfig
from bot.comms import contexts, outbox_events
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
_TEMPLATE = {"create": "public_incident", "update": "public_update", "resolve": "public_resolved"}


@dataclass(frozen=True)
class PublicDraft:
    id: int
    incident_id: int | None  # None for a maintenance window's draft
    action: str  # create, update, resolve; a window's: create, reschedule, start, complete, cancel
    # An incident's: {"pages": [{"page_id", "services", "name", "incident": the Statuspage body}, …]};
    # a window's: {"page_id": …, "incident": the Statuspage body}
    payload: Mapping[str, Any]
    requested_by: str
    state: str  # pending, confirmed, cancelled
    channel_id: str | None
    message_ts: str | None
    # The window whose scheduled maintenance this is (bot/comms/maintenance_public.py); None for an incident's.
    maintenance_id: int | None = None


class PublicStore(Protocol):
    async def create_draft(
        self, incident_id: int, *, action: str, payload: Mapping[str, Any], requested_by: str, at: datetime
    ) -> PublicDraft: ...

    async def set_draft_message(self, draft_id: int, *, channel_id: str, ts: str) -> None: ...

    async def get_draft(self, draft_id: int) -> PublicDraft | None: ...

    async def decide_draft(
        self, draft_id: int, *, confirm: bool, by: str, at: datetime, event_text: str, outbox: Sequence[Outbound]
    ) -> PublicDraft | None:
        """pending → confirmed (with its outbox rows and timeline line) or cancelled, once; None if decided already."""
        ...

    async def is_public(self, incident_id: int) -> bool:
        """Whether a create was confirmed for the incident (there is, or will be, a public incident)."""
        ...

    async def public_pages(self, incident_id: int) -> list[str]:
        """The pages a confirmed create of the incident was queued for and not refused by, in order."""
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


def pages_of(config: StatuspageConfig, services: Sequence[str]) -> list[Page]:
    """Every page the incident's services are on (in the order they are named), each with its services'
    components and public names."""
    listed = [config.services[s] for s in services if s in config.services]
    pages: list[Page] = []
    for page_id in dict.fromkeys(s.page_id for s in listed):
        on_page = [s for s in listed if s.page_id == page_id]
        components = tuple(dict.fromkeys(c for s in on_page for c in s.components))
        pages.append(Page(page_id, components, tuple(s.name for s in on_page)))
    return pages


def pages_in(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A draft's pages; a draft written before drafts had several pages is its one page."""
    pages = payload.get("pages")
    return list(pages) if isinstance(pages, list) else [payload]


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

    def draft(
        self, incident: Incident, action: str, status: str, *, only: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """The Statuspage body for each page of this incident (only those in `only` when given); UserError
        when it cannot go public."""
        pages = [p for p in pages_of(self.config, incident.services) if only is None or p.page_id in only]
        if not pages:
            with_page = sorted(self.config.services)
            raise errors.UserError("no_status_page_service", incident=incident.id, with_page=with_page)
        rule = self.config.severities.get(incident.severity)
        if rule is None:
            raise errors.UserError("severity_not_public", severity=incident.severity)
        return {"pages": [self._page_draft(page, rule, action, status) for page in pages]}

    def _page_draft(self, page: Page, rule: PublicSeverity, action: str, status: str) -> dict[str, Any]:
        context = {
            "services": list(page.names),  # the template words the list (comms_macros.j2 `listed`)
            "plural": len(page.names) > 1,
            "component_status": rule.component_status,  # the template says what it means to customers
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
        # The services' names, as data for the timeline's entry of each delivery (the template words the list).
        return {"page_id": page.page_id, "services": list(page.names), "name": text["name"], "incident": body}

    async def propose(self, incident: Incident, *, action: str, status: str, requested_by: str) -> PublicDraft:
        """Write the draft and post its preview in the incident's thread."""
        await self.policy.check_comms(requested_by, Comms.PUBLISH_INCIDENT)
        only: list[str] | None = None
        if action != "create":
            if not await self.store.is_public(incident.id):
                raise errors.UserError("incident_not_public", incident=incident.id)
            only = await self.store.public_pages(incident.id)  # not a page that refused the create
            if not only:
                raise errors.UserError("incident_on_no_page", incident=incident.id)
        payload = self.draft(incident, action, status, only=only)
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
        pages = pages_in(draft.payload)
        outbox = [Outbound(STATUSPAGE, draft.action, page) for page in pages] if confirm else []
        names = tuple(dict.fromkeys(str(page.get("name", "")) for page in pages))
        outcome = outbox_events.CONFIRMED if confirm else outbox_events.CANCELLED
        decided = await self.store.decide_draft(
            draft_id,
            confirm=confirm,
            by=user_id,
            at=self.clock(),
            event_text=outbox_events.encode(outbox_events.Delivery(STATUSPAGE, draft.action, outcome, services=names)),
            outbox=outbox,
        )
        if decided is None:  # someone decided between our read and our write (a double click, two people)
            now = await self.store.get_draft(draft_id)
            raise errors.UserError("public_preview_decided", state=now.state if now else draft.state)
        if decided.channel_id and decided.message_ts:
            context = preview_context(decided, decided={"confirmed": confirm, "by": contexts.mention(user_id)})
            template = "incident_public_preview" if decided.maintenance_id is None else "maintenance_public_preview"
            rendered = self.templates.render(template, context)
            await self.slack.update_message(decided.channel_id, decided.message_ts, rendered.text, rendered.blocks)
        log.info("public draft decided", draft=draft_id, incident=draft.incident_id, confirmed=confirm)
        return decided


def preview_context(draft: PublicDraft, *, decided: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The preview's values; `decided` ({"confirmed", "by"}) once someone has clicked, and the buttons go."""
    pages = pages_in(draft.payload)
    first = pages[0].get("incident", {}) if pages else {}
    return {
        "id": draft.incident_id if draft.maintenance_id is None else draft.maintenance_id,
        "window": _window(draft.payload),
        # A scheduled maintenance names its components; they change status only while it runs.
        "component_ids": [contexts.safe(c, 80) for c in first.get("component_ids") or []],
        "action": draft.action,
        "status": contexts.safe(first.get("status", ""), 40),
        "impact": contexts.safe(first.get("impact_override", ""), 40),
        "pages": [_page_context(page) for page in pages],
        "requested_by": contexts.mention(draft.requested_by),
        "decided": decided,
        "actions": {"confirm": ActionId.PUBLIC_CONFIRM.value, "cancel": ActionId.PUBLIC_CANCEL.value},
        "value": str(draft.id),
    }


def _window(payload: Mapping[str, Any]) -> dict[str, str]:
    """A maintenance's times, as previewed: its start and end (a draft written before held one text)."""
    window = payload.get("window", "")
    if isinstance(window, Mapping):
        return {"start": contexts.safe(window.get("start", ""), 100), "end": contexts.safe(window.get("end", ""), 100)}
    return {"start": contexts.safe(window, 200), "end": ""}


def _page_context(page: Mapping[str, Any]) -> dict[str, Any]:
    body = page.get("incident", {})
    components = body.get("components") or {}
    return {
        "page_id": contexts.safe(page.get("page_id", ""), 60),
        "name": contexts.safe(page.get("name", ""), 200),
        "body": contexts.safe(body.get("body", "")),
        # Each component and the status the call sets (none: the components stay as they are).
        "components": [
            {"name": contexts.safe(c, 200), "status": contexts.safe(str(s), 40)} for c, s in components.items()
        ],
    }
