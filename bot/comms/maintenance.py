"""Maintenance windows: announce now, remind 24 h before, and post start and completion notices.

Each notice is a one-shot scheduler job (kind `maintenance.notice`, keys under
`maintenance:<id>:`), so a restart loses none and two replicas never both post;
cancelling a window cancels its pending notices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from bot import errors, text
from bot.catalog import Catalog
from bot.comms import contexts
from bot.comms.incidents import Poster
from bot.comms.records import MaintenanceStore, MaintenanceWindow
from bot.runbooks.engine import Clock
from bot.runbooks.policy import Comms, Policy
from bot.scheduler import Job, Scheduler
from bot.templating import Templates

log = structlog.get_logger(__name__)
NOTICE_KIND = "maintenance.notice"
ANNOUNCE_AHEAD = timedelta(hours=24)  # runbook 001: "Schedule announced 24h in advance"
PURPOSE_MAX_CHARS = 500
# notice → (states it may leave, state it moves to); a notice whose move fails is stale and skipped.
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "reminder": (("scheduled",), "scheduled"),
    "started": (("scheduled",), "in_progress"),
    "completed": (("scheduled", "in_progress"), "completed"),
}


def job_prefix(window_id: int) -> str:
    return f"maintenance:{window_id}:"


def parse_id(raw: str) -> int:
    digits = raw.strip().lstrip("#")
    if not digits.isdigit() or len(digits) > 12:
        raise errors.UserError("not_a_maintenance_id", id=raw.strip()[:40])
    return int(digits)


@dataclass
class MaintenanceService:
    store: MaintenanceStore
    scheduler: Scheduler
    slack: Poster
    policy: Policy
    catalog: Catalog
    templates: Templates
    clock: Clock

    def register_jobs(self, scheduler: Scheduler) -> None:
        scheduler.on(NOTICE_KIND, self.on_notice)

    @property
    def channel(self) -> str:
        # A `maintenance` channel if the catalog names one, else the incidents (communications) channel.
        try:
            return self.catalog.channels.resolve("maintenance")
        except KeyError:
            return self.catalog.channels.incidents

    async def schedule(
        self,
        *,
        starts_at: datetime,
        length: timedelta,
        purpose: str,
        services: Sequence[str],
        created_by: str,
    ) -> MaintenanceWindow:
        await self.policy.check_comms(created_by, Comms.SCHEDULE_MAINTENANCE)
        purpose = text.checked("purpose", purpose, max_chars=PURPOSE_MAX_CHARS)
        if not purpose:
            raise errors.UserError("maintenance_needs_purpose")
        unknown = [s for s in services if s not in self.catalog.services]
        if unknown:
            raise errors.NotFoundError("unknown_service", service=unknown[0][:60], known=sorted(self.catalog.services))
        now = self.clock()
        window = await self.store.create(
            purpose=purpose,
            services=list(dict.fromkeys(services)),
            starts_at=starts_at,
            ends_at=starts_at + length,
            channel_id=self.channel,
            created_by=created_by,
            at=now,
        )
        prefix = job_prefix(window.id)
        if starts_at - ANNOUNCE_AHEAD > now:
            await self.scheduler.schedule(
                NOTICE_KIND,
                prefix + "reminder",
                starts_at - ANNOUNCE_AHEAD,
                {"window": window.id, "notice": "reminder"},
            )
        await self.scheduler.schedule(
            NOTICE_KIND, prefix + "started", starts_at, {"window": window.id, "notice": "started"}
        )
        await self.scheduler.schedule(
            NOTICE_KIND, prefix + "completed", window.ends_at, {"window": window.id, "notice": "completed"}
        )
        await self._post("maintenance_scheduled", window, late=False)
        log.info("maintenance scheduled", window=window.id, starts_at=starts_at.isoformat())
        return window

    async def upcoming(self, user_id: str) -> list[MaintenanceWindow]:
        await self.policy.check_comms(user_id, Comms.READ_MAINTENANCE)
        return await self.store.upcoming()

    async def cancel(self, window_id: int, *, actor: str) -> MaintenanceWindow:
        await self.policy.check_comms(actor, Comms.CANCEL_MAINTENANCE)
        window = await self.store.move(window_id, from_states=("scheduled",), to="cancelled", cancelled_by=actor)
        if window is None:
            existing = await self.store.get(window_id)
            if existing is None:
                raise errors.NotFoundError("no_such_maintenance", window=window_id)
            raise errors.UserError("maintenance_not_cancellable", window=window_id, state=existing.state)
        await self.scheduler.cancel(job_prefix(window_id))
        await self._post("maintenance_cancelled", window, late=False)
        return window

    async def on_notice(self, job: Job) -> None:
        notice = str(job.payload["notice"])
        from_states, to = TRANSITIONS[notice]
        window = await self.store.move(int(job.payload["window"]), from_states=from_states, to=to)
        if window is None:
            log.info("maintenance notice skipped: window no longer there", key=job.key)
            return
        await self._post(f"maintenance_{notice}", window, late=job.late)

    async def _post(self, template: str, window: MaintenanceWindow, *, late: bool) -> None:
        rendered = self.templates.render(template, contexts.maintenance(window, self.catalog, late=late))
        await self.slack.post_message(window.channel_id, rendered.text, rendered.blocks)
