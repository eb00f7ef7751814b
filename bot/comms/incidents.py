"""Incidents: declare, update, resolve, and remind the lead when an update is due.

Reminders are one-shot scheduler jobs (kind `incident.reminder`, keys under
`incident:<id>:reminder:`), so they survive restarts and fire on one replica.
At most one is pending per incident: posting an update or snoozing replaces it,
a fired reminder schedules the next one, and resolving cancels the rest.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from bot import errors
from bot import text as usertext  # `text` is a parameter name here
from bot.catalog import Catalog
from bot.comms import contexts, paging
from bot.comms.records import Incident, IncidentEvent, IncidentStore
from bot.runbooks.engine import Clock
from bot.runbooks.policy import Comms, Policy
from bot.scheduler import Job, Scheduler
from bot.templating import Templates

log = structlog.get_logger(__name__)

# The longest text each field keeps; the modals ask Slack for the same max_length.
TITLE_MAX_CHARS = 150
NOTE_MAX_CHARS = 2000  # impact, updates, root cause, resolution
REMINDER_KIND = "incident.reminder"

# Block Kit as bot.slack.webapi takes it; comms is below the Slack layer and does not import it.
Blocks = Sequence[dict[str, Any]]


class EscalationSchedule(Protocol):
    """bot.comms.escalation.Escalations: escalation reminders scheduled at declaration, cancelled at resolve."""

    async def schedule_for(self, incident: Incident) -> None: ...

    async def cancel_for(self, incident_id: int) -> None: ...


class Poster(Protocol):
    async def post_message(
        self, channel: str, text: str, blocks: Blocks | None = None, *, thread_ts: str | None = None
    ) -> str: ...


def reminder_prefix(incident_id: int) -> str:
    return f"incident:{incident_id}:reminder:"


def parse_id(raw: str) -> int:
    """`12`, `#12` and `INC-12` all name incident 12."""
    digits = raw.strip().upper().removeprefix("INC-").removeprefix("#")
    if not digits.isdigit() or len(digits) > 12:
        raise errors.UserError("not_an_incident_id", id=raw.strip()[:40])
    return int(digits)


@dataclass
class IncidentService:
    store: IncidentStore
    scheduler: Scheduler
    slack: Poster
    policy: Policy
    catalog: Catalog
    templates: Templates
    clock: Clock
    escalations: EscalationSchedule | None = None  # the catalog's escalation matrix, when it has one

    def register_jobs(self, scheduler: Scheduler) -> None:
        scheduler.on(REMINDER_KIND, self.on_reminder)

    # ---- commands ------------------------------------------------------------------------------

    def check_severity(self, severity: str) -> str:
        name = severity.upper()
        if name not in self.catalog.severities:
            raise errors.UserError("unknown_severity", severity=severity[:20], known=list(self.catalog.severities))
        return name

    def check_services(self, services: Sequence[str]) -> list[str]:
        unknown = [s for s in services if s not in self.catalog.services]
        if unknown:
            raise errors.NotFoundError("unknown_service", service=unknown[0][:60], known=sorted(self.catalog.services))
        return list(dict.fromkeys(services))

    async def declare(
        self, *, title: str, severity: str, impact: str, services: Sequence[str], lead: str, declared_by: str
    ) -> Incident:
        title = usertext.checked("title", title, max_chars=TITLE_MAX_CHARS)
        if not title:
            raise errors.UserError("incident_needs_title")
        await self.policy.check_comms(declared_by, Comms.DECLARE_INCIDENT)
        await self.policy.check_lead(lead)
        impact = usertext.checked("impact", impact, max_chars=NOTE_MAX_CHARS)
        now = self.clock()
        severity, services = self.check_severity(severity), self.check_services(services)
        page = paging.trigger(self.catalog, severity=severity, services=services, title=title, lead=lead)
        incident = await self.store.create(
            title=title,
            severity=severity,
            impact=impact,
            services=services,
            lead=lead,
            declared_by=declared_by,
            channel_id=self.catalog.channels.incidents,
            at=now,
            outbox=[page] if page else [],
        )
        not_paged = paging.not_paged_reason(self.catalog, severity=severity, services=services)
        if not_paged:
            await self.store.add_event(incident.id, at=now, kind="pager", actor="bot", text=not_paged)
        # The reminder first: if Slack is down, the lead is still reminded once it is back.
        await self._schedule_reminder(incident, now, key=uuid.uuid4().hex)
        if self.escalations is not None:
            await self.escalations.schedule_for(incident)
        rendered = self.templates.render("incident_declared", contexts.incident(incident, self.catalog))
        ts = await self.slack.post_message(incident.channel_id, rendered.text, rendered.blocks)
        await self.store.set_message(incident.id, ts)
        log.info("incident declared", incident=incident.id, severity=incident.severity, lead=lead)
        return replace(incident, message_ts=ts)

    async def check_may_declare(self, user_id: str) -> None:
        """Before the declare modal opens; its submission is checked again in declare()."""
        await self.policy.check_comms(user_id, Comms.DECLARE_INCIDENT)

    async def open_incidents(self, user_id: str) -> list[Incident]:
        await self.policy.check_comms(user_id, Comms.READ_INCIDENTS)
        return await self.store.recent(open_only=True)

    async def timeline(self, incident_id: int, user_id: str) -> tuple[Incident, list[IncidentEvent]]:
        await self.policy.check_comms(user_id, Comms.READ_INCIDENTS)
        incident = await self.store.get(incident_id)
        if incident is None:
            raise errors.NotFoundError("no_such_incident", incident=incident_id)
        return incident, await self.store.timeline(incident.id)

    async def load_for_change(self, incident_id: int, user_id: str, verb: Comms) -> Incident:
        """The open incident, once `user_id` (its lead, or someone the catalog allows) may change it."""
        incident = await self.store.get(incident_id)
        if incident is None:
            await self.policy.check_comms(user_id, verb)  # who may not change incidents learns nothing of them
            raise errors.NotFoundError("no_such_incident", incident=incident_id)
        await self.policy.check_comms(user_id, verb, lead=incident.lead, incident=incident_id)
        if not incident.open:
            raise errors.UserError("incident_already_resolved", incident=incident_id)
        return incident

    async def post_update(self, incident_id: int, *, text: str, author: str) -> Incident:
        update = usertext.checked("update", text, max_chars=NOTE_MAX_CHARS)
        if not update:
            raise errors.UserError("update_needs_text")
        incident = await self.load_for_change(incident_id, author, Comms.UPDATE_INCIDENT)
        now = self.clock()
        await self.store.add_event(incident.id, at=now, kind="update", actor=author, text=update)
        await self.scheduler.cancel(reminder_prefix(incident.id))
        due = await self._schedule_reminder(incident, now, key=uuid.uuid4().hex)
        context = contexts.incident_update(incident, self.catalog, text=update, author=author)
        context["next_update"] = contexts.when(due, self.catalog.timezone) if due else ""
        rendered = self.templates.render("incident_update", context)
        await self.slack.post_message(incident.channel_id, rendered.text, rendered.blocks)
        return incident

    async def resolve(self, incident_id: int, *, actor: str, root_cause: str, resolution: str) -> Incident:
        root_cause = usertext.checked("root cause", root_cause, max_chars=NOTE_MAX_CHARS)
        resolution = usertext.checked("resolution", resolution, max_chars=NOTE_MAX_CHARS)
        incident = await self.load_for_change(incident_id, actor, Comms.RESOLVE_INCIDENT)
        page_resolve = paging.resolve(self.catalog, incident)
        resolved = await self.store.resolve(
            incident_id,
            at=self.clock(),
            actor=actor,
            root_cause=root_cause,
            resolution=resolution,
            outbox=[page_resolve] if page_resolve else [],
        )
        if resolved is None:  # someone else resolved it between our read and our write
            raise errors.UserError("incident_already_resolved", incident=incident_id)
        await self.scheduler.cancel(reminder_prefix(incident_id))
        if self.escalations is not None:
            await self.escalations.cancel_for(incident_id)
        rendered = self.templates.render(
            "incident_resolved", contexts.incident_resolved(resolved, self.catalog, resolved_by=actor)
        )
        await self.slack.post_message(resolved.channel_id, rendered.text, rendered.blocks)
        return resolved

    async def snooze(self, incident_id: int, *, actor: str) -> datetime | None:
        """Push the pending reminder back by one cadence; returns when it is now due."""
        incident = await self.load_for_change(incident_id, actor, Comms.UPDATE_INCIDENT)
        pending = await self.scheduler.pending(reminder_prefix(incident_id))
        base = pending[0].run_at if pending else self.clock()
        await self.scheduler.cancel(reminder_prefix(incident_id))
        due = await self._schedule_reminder(incident, base, key=uuid.uuid4().hex)
        await self.store.add_event(incident_id, at=self.clock(), kind="snoozed", actor=actor)
        return due

    # ---- reminders -----------------------------------------------------------------------------

    def cadence(self, incident: Incident) -> timedelta | None:
        severity = self.catalog.severities.get(incident.severity)
        minutes = severity.update_every_minutes if severity else None
        return timedelta(minutes=minutes) if minutes else None

    async def _schedule_reminder(self, incident: Incident, after: datetime, *, key: str) -> datetime | None:
        every = self.cadence(incident)
        if every is None:
            return None  # e.g. P4: no update cadence, no reminders
        due = after + every
        await self.scheduler.schedule(REMINDER_KIND, reminder_prefix(incident.id) + key, due, {"incident": incident.id})
        return due

    async def on_reminder(self, job: Job) -> None:
        incident = await self.store.get(int(job.payload["incident"]))
        if incident is None or not incident.open:
            return
        # From the due time, not from now: the cadence does not drift; a key derived from this job
        # makes a retried fire schedule the same next reminder, not a second one.
        after = max(job.run_at, self.clock())
        await self._schedule_reminder(incident, after if job.late else job.run_at, key=f"after-{job.id}")
        every = self.cadence(incident)
        context = {
            **contexts.incident(incident, self.catalog, late=job.late),
            "due": contexts.duration(every) if every else None,  # None: the catalog dropped the cadence since
        }
        rendered = self.templates.render("incident_reminder", context)
        await self.store.add_event(incident.id, at=self.clock(), kind="reminder", actor="bot")
        await self.slack.post_message(
            incident.channel_id, rendered.text, rendered.blocks, thread_ts=incident.message_ts
        )
