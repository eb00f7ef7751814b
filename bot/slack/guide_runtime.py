"""The collaborators of `/runbook guide` besides `/runbook`'s own; built by the composition root."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.comms.records import IncidentStore
from bot.guides.model import Guide
from bot.runbooks.engine import Clock
from bot.scheduler import Scheduler
from bot.store.guides import GuideSessionStore
from bot.templating import Templates


@dataclass(frozen=True)
class GuideRuntime:
    """What `/runbook guide` and its buttons use besides `/runbook` itself; built by the composition root."""

    guides: Mapping[str, Guide]
    sessions: GuideSessionStore  # which guide thread belongs to which incident
    incidents: IncidentStore  # a guide opened for an incident writes on its timeline
    scheduler: Scheduler  # the escalation reminder
    clock: Clock
    templates: Templates  # guide_menu, guide_sections, guide_section, guide_started, guide_reminder
