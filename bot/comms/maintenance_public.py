"""Maintenance windows on the status page: Statuspage scheduled maintenances, previewed before posting.

Statuspage (REST API v1) models a scheduled maintenance as an incident created with status `scheduled`,
`scheduled_for`/`scheduled_until` and automation flags: we let Statuspage move it to `in_progress` at
the start (its components to `under_maintenance`) and to `completed` at the end (back to
`operational`), so a window that runs as planned needs one call. A window moved to new times, or
started or completed early, patches it. A cancelled one is marked `completed` with a cancellation
message rather than deleted, so subscribers who were told it was coming are told it is not.

Each step reuses the incident flow (bot/comms/public.py): a draft, its preview in the window's
thread, a Confirm by someone `comms.incident.publish` allows (at request and at click), and then
one outbox row, exactly once. The words come from templates/public_maintenance_*.yml.j2 and the
catalog's public service names; the purpose engineers typed stays in Slack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot import errors
from bot.catalog_outbound import StatuspageConfig
from bot.comms import contexts
from bot.comms.public import Messenger, PublicDraft, pages_of, preview_context
from bot.comms.records import MaintenanceWindow
from bot.runbooks.engine import Clock
from bot.runbooks.policy import Comms, Policy
from bot.templating import Templates

PREVIEW_TEMPLATE = "maintenance_public_preview"
# A window's step → (template of what customers read, Statuspage status, status of its components).
STEPS: dict[str, tuple[str, str, str | None]] = {
    "create": ("public_maintenance_scheduled", "scheduled", None),
    "reschedule": ("public_maintenance_rescheduled", "scheduled", None),
    "start": ("public_maintenance_started", "in_progress", "under_maintenance"),
    "complete": ("public_maintenance_completed", "completed", "operational"),
    # Only a window that has not started can be cancelled: its components were never touched.
    "cancel": ("public_maintenance_cancelled", "completed", None),
}


# The window states in which a step's preview may still be confirmed: a preview left waiting while the
# window moved on (a create for a window since cancelled, a start after it completed) is closed instead.
CONFIRMABLE_IN: dict[str, tuple[str, ...]] = {
    "create": ("scheduled", "in_progress"),
    "reschedule": ("scheduled",),
    "start": ("in_progress",),
    "complete": ("completed",),
    "cancel": ("cancelled",),
}


class WindowDrafts(Protocol):
    async def create_window_draft(
        self, window_id: int, *, action: str, payload: Mapping[str, Any], requested_by: str, at: datetime
    ) -> PublicDraft: ...

    async def set_draft_message(self, draft_id: int, *, channel_id: str, ts: str) -> None: ...

    async def window_is_public(self, window_id: int) -> bool:
        """Whether a create was confirmed for the window (there is, or will be, a scheduled maintenance)."""
        ...


@dataclass
class MaintenancePublic:
    config: StatuspageConfig
    store: WindowDrafts
    slack: Messenger
    policy: Policy
    templates: Templates
    timezone: str
    clock: Clock

    @property
    def offered_by_default(self) -> bool:
        return self.config.maintenance_default

    async def is_public(self, window_id: int) -> bool:
        return await self.store.window_is_public(window_id)

    def draft(self, window: MaintenanceWindow, action: str) -> dict[str, Any]:
        """The Statuspage body for this window and step; UserError when the window cannot go public."""
        # A window is announced on the page of its first service that has one (an incident goes to every page).
        page = next(iter(pages_of(self.config, window.services)), None)
        if page is None:
            raise errors.UserError(
                "window_without_status_page", window=window.id, with_page=sorted(self.config.services)
            )
        template, status, component_status = STEPS[action]
        start, end = contexts.when(window.starts_at, self.timezone), contexts.when(window.ends_at, self.timezone)
        context = {
            "services": list(page.names),  # the template words the list (comms_macros.j2 `listed`)
            "plural": len(page.names) > 1,
            "start": start,
            "end": end,
            "duration": contexts.duration(window.ends_at - window.starts_at),
        }
        text = self.templates.render_public(template, context)
        body: dict[str, Any] = {"status": status, "body": text["body"]}
        if action == "create":
            body |= {
                "name": text["name"],
                "scheduled_for": window.starts_at.isoformat(),
                "scheduled_until": window.ends_at.isoformat(),
                "scheduled_remind_prior": True,  # Statuspage reminds subscribers before it starts
                "scheduled_auto_in_progress": True,
                "scheduled_auto_completed": True,
                "auto_transition_to_maintenance_state": True,
                "auto_transition_to_operational_state": True,
                "component_ids": list(page.components),
                "deliver_notifications": True,
            }
        elif action == "reschedule":  # the same maintenance, moved: Statuspage tells subscribers the new times
            body |= {"scheduled_for": window.starts_at.isoformat(), "scheduled_until": window.ends_at.isoformat()}
        if component_status is not None:
            body["components"] = dict.fromkeys(page.components, component_status)
        return {"page_id": page.page_id, "name": text["name"], "window": {"start": start, "end": end}, "incident": body}

    async def propose(self, window: MaintenanceWindow, *, action: str, requested_by: str) -> PublicDraft:
        """Write the draft and post its preview in the window's thread (its announcement)."""
        await self.policy.check_comms(requested_by, Comms.PUBLISH_INCIDENT)
        payload = self.draft(window, action)
        draft = await self.store.create_window_draft(
            window.id, action=action, payload=payload, requested_by=requested_by, at=self.clock()
        )
        rendered = self.templates.render(PREVIEW_TEMPLATE, preview_context(draft))
        ts = await self.slack.post_message(
            window.channel_id, rendered.text, rendered.blocks, thread_ts=window.message_ts
        )
        await self.store.set_draft_message(draft.id, channel_id=window.channel_id, ts=ts)
        return draft
