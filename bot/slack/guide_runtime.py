"""The collaborators of `/runbook guide` and its buttons; built by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from bot.comms.records import IncidentStore
from bot.followups import FollowUps
from bot.guides.model import Guide
from bot.runbooks.engine import Clock, Invocation
from bot.runbooks.policy import Policy
from bot.scheduler import Scheduler
from bot.slack.replies import Replier
from bot.slack.runbook_requests import RunbookRequests
from bot.store.guides import GuideSessionStore
from bot.templating import Templates

# A `health [service]` step, answered in the guide's thread (who, service, thread ts).
HealthStep = Callable[[Invocation, str | None, str], Awaitable[None]]


@dataclass(frozen=True)
class GuideRuntime:
    """What `/runbook guide` and its buttons use; built by the composition root."""

    guides: Mapping[str, Guide]
    sessions: GuideSessionStore  # which guide thread belongs to which incident
    incidents: IncidentStore  # a guide opened for an incident writes on its timeline
    scheduler: Scheduler  # the escalation reminder
    clock: Clock
    templates: Templates  # guide_menu, guide_sections, guide_section, guide_started, guide_reminder
    requests: RunbookRequests  # a step goes through exactly the path a typed `/runbook` command takes
    policy: Policy  # who may open guides
    replier: Replier  # errors of its buttons (the `/runbook` listener answers the command's)
    followups: FollowUps  # the work after a button's ack, on the bounded queue every click uses
    health_step: HealthStep
