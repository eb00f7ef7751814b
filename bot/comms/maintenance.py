"""Maintenance windows: announce now, remind 24 h before, and post start and completion notices.

Each notice is a one-shot scheduler job (kind `maintenance.notice`, keys under
`maintenance:<id>:`), so a restart loses none and two replicas never both post;
cancelling a window cancels its pending notices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog

from bot import errors, text
from bot.catalog import Catalog
from bot.comms import contexts
from bot.comms.incidents import Poster
from bot.comms.maintenance_public import MaintenancePublic
from bot.comms.records import MaintenanceStore, MaintenanceWindow, WindowEvent
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


@dataclass(frozen=True)
class PublicOffer:
    """What became of a window step's status page side: `preview` (waits for a Confirm in the window's
    thread), `refused` (with why: a phrase of the book), or `` (not asked for)."""

    state: str = ""
    reason: errors.Said | None = None


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
    public: MaintenancePublic | None = None  # the catalog has a `statuspage:` section

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
        await self._schedule_notices(window, now=now)
        ts = await self._post("maintenance_scheduled", window, late=False)
        await self.store.set_message(window.id, ts)
        window = replace(window, message_ts=ts)
        log.info("maintenance scheduled", window=window.id, starts_at=starts_at.isoformat())
        return window

    async def _schedule_notices(self, window: MaintenanceWindow, *, now: datetime, version: str = "") -> None:
        """The reminder (when there is time for it), start and completion notices of the window's times.
        A rescheduled window's notices carry a `version` after the notice's name: a job key is never reused,
        and `maintenance:<id>:started` still prefixes every start notice the window ever had."""
        prefix = job_prefix(window.id)
        if window.starts_at - ANNOUNCE_AHEAD > now:
            await self.scheduler.schedule(
                NOTICE_KIND,
                prefix + "reminder" + version,
                window.starts_at - ANNOUNCE_AHEAD,
                {"window": window.id, "notice": "reminder"},
            )
        await self.scheduler.schedule(
            NOTICE_KIND, prefix + "started" + version, window.starts_at, {"window": window.id, "notice": "started"}
        )
        await self.scheduler.schedule(
            NOTICE_KIND, prefix + "completed" + version, window.ends_at, {"window": window.id, "notice": "completed"}
        )

    async def reschedule(
        self, window_id: int, *, starts_at: datetime, length: timedelta, actor: str
    ) -> MaintenanceWindow:
        """A scheduled window gets new times: its pending notices follow them, and the change is announced."""
        await self.policy.check_comms(actor, Comms.SCHEDULE_MAINTENANCE)
        window = await self.store.reschedule(window_id, starts_at=starts_at, ends_at=starts_at + length)
        if window is None:
            existing = await self.store.get(window_id)
            if existing is None:
                raise errors.NotFoundError("no_such_maintenance", window=window_id)
            raise errors.UserError("maintenance_not_movable", window=window_id, state=existing.state)
        now = self.clock()
        await self.scheduler.cancel(job_prefix(window_id))
        await self._schedule_notices(window, now=now, version=f":v{int(now.timestamp() * 1000)}")
        await self._post("maintenance_rescheduled", window, late=False)
        log.info("maintenance rescheduled", window=window_id, starts_at=starts_at.isoformat())
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

    async def start_now(self, window_id: int, *, actor: str) -> MaintenanceWindow:
        """A scheduled window starts early: in progress now, its start notice posted now instead of at its time."""
        await self.policy.check_comms(actor, Comms.SCHEDULE_MAINTENANCE)
        window = await self._moved(window_id, ("scheduled",), "in_progress", "started")
        await self.scheduler.cancel(job_prefix(window_id) + "reminder")
        await self.scheduler.cancel(job_prefix(window_id) + "started")
        await self._post("maintenance_started", window, late=False)
        return window

    async def complete_now(self, window_id: int, *, actor: str) -> MaintenanceWindow:
        """A window ends early (or is marked done before it starts): completed now, no notice left pending."""
        await self.policy.check_comms(actor, Comms.SCHEDULE_MAINTENANCE)
        window = await self._moved(window_id, ("scheduled", "in_progress"), "completed", "completed")
        await self.scheduler.cancel(job_prefix(window_id))
        await self._post("maintenance_completed", window, late=False)
        return window

    async def _moved(self, window_id: int, from_states: tuple[str, ...], to: str, verb: str) -> MaintenanceWindow:
        window = await self.store.move(window_id, from_states=from_states, to=to)
        if window is not None:
            return window
        existing = await self.store.get(window_id)
        if existing is None:
            raise errors.NotFoundError("no_such_maintenance", window=window_id)
        raise errors.UserError("maintenance_not_now", window=window_id, state=existing.state, verb=verb)

    async def offer_public(
        self, window: MaintenanceWindow, action: str, *, requested: bool | None, user: str
    ) -> PublicOffer:
        """The status page preview of a window's step. A new window gets one when asked (or when the catalog
        announces windows by default); a later step only when the window is on the status page."""
        if self.public is None:
            # Said, not raised: the window itself is scheduled (or changed) already and stays so.
            return PublicOffer("refused", errors.Said("no_status_page_section")) if requested else PublicOffer()
        if action == "create":
            if not (self.public.offered_by_default if requested is None else requested):
                return PublicOffer()
        elif not await self.public.is_public(window.id):
            return PublicOffer()
        try:
            await self.public.propose(window, action=action, requested_by=user)
        except errors.UserError as exc:
            return PublicOffer("refused", exc.said)
        return PublicOffer("preview")

    async def status_page_events(self, windows: Sequence[MaintenanceWindow]) -> dict[int, WindowEvent]:
        """What the outbox last made of each window's status page steps (for `/maintenance list`)."""
        return await self.store.latest_status_page_events([w.id for w in windows])

    async def on_notice(self, job: Job) -> None:
        notice = str(job.payload["notice"])
        from_states, to = TRANSITIONS[notice]
        window = await self.store.move(int(job.payload["window"]), from_states=from_states, to=to)
        if window is None:
            log.info("maintenance notice skipped: window no longer there", key=job.key)
            return
        await self._post(f"maintenance_{notice}", window, late=job.late)

    async def _post(self, template: str, window: MaintenanceWindow, *, late: bool) -> str:
        rendered = self.templates.render(template, contexts.maintenance(window, self.catalog, late=late))
        return await self.slack.post_message(window.channel_id, rendered.text, rendered.blocks)
