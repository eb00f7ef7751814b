"""Escalation reminders: the catalog's matrix (per severity: level, minutes, contacts) becomes one-shot
scheduler jobs at declaration, each posting "escalate to L2" in the incident's thread when its time
passes with the incident still open. Resolving cancels the rest; a fire is claimed once across replicas.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import structlog

from bot.catalog import Catalog
from bot.comms import contexts, escalation_events
from bot.comms.incidents import Poster
from bot.comms.records import Incident, IncidentStore
from bot.runbooks.engine import Clock
from bot.scheduler import Job, Scheduler
from bot.templating import Templates

log = structlog.get_logger(__name__)
ESCALATION_KIND = "incident.escalation"


def escalation_prefix(incident_id: int) -> str:
    return f"incident:{incident_id}:escalation:"


@dataclass
class Escalations:
    store: IncidentStore
    scheduler: Scheduler
    slack: Poster
    catalog: Catalog
    templates: Templates
    clock: Clock

    def register_jobs(self, scheduler: Scheduler) -> None:
        scheduler.on(ESCALATION_KIND, self.on_due)

    async def schedule_for(self, incident: Incident) -> None:
        for step in self.catalog.escalation.get(incident.severity, []):
            due = incident.declared_at + timedelta(minutes=step.after_minutes)
            payload = {"incident": incident.id, "level": step.level}
            await self.scheduler.schedule(ESCALATION_KIND, escalation_prefix(incident.id) + step.level, due, payload)

    async def cancel_for(self, incident_id: int) -> None:
        await self.scheduler.cancel(escalation_prefix(incident_id))

    async def on_due(self, job: Job) -> None:
        incident = await self.store.get(int(job.payload["incident"]))
        if incident is None or not incident.open:
            return
        steps = self.catalog.escalation.get(incident.severity, [])
        step = next((s for s in steps if s.level == job.payload["level"]), None)
        if step is None:  # the catalog changed since the declaration
            log.info("escalation skipped: level no longer in the catalog", key=job.key)
            return
        context = {
            **contexts.incident(incident, self.catalog, late=job.late),
            "level": contexts.safe(step.level, 20),
            "contacts": [contexts.safe(c, 200) for c in step.contacts],
            "open_for": contexts.duration(timedelta(minutes=step.after_minutes)),
        }
        rendered = self.templates.render("incident_escalation", context)
        await self.store.add_event(
            incident.id,
            at=self.clock(),
            kind=escalation_events.KIND,
            actor="bot",
            text=escalation_events.encode(step.level, step.contacts),
        )
        await self.slack.post_message(
            incident.channel_id, rendered.text, rendered.blocks, thread_ts=incident.message_ts
        )
