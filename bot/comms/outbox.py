"""The outbox: every call to Statuspage or PagerDuty, delivered after the incident change that caused it.

A row is written in the same transaction as that change (declaring, confirming a public update,
resolving), so a crash, a restart or an outage of the other side never loses one. The worker that
every replica runs claims one due row at a time (`FOR UPDATE SKIP LOCKED` and a lease, so a row is
delivered by one replica), in order per incident and target (an update never overtakes the create
it patches), and ends it as delivered, refused (a 4xx other than a rate limit: the timeline says
what and why, and it is not retried) or pending again after a backoff that honours `Retry-After`.

Delivery is idempotent where the other side allows: PagerDuty events carry a dedup key derived from
the incident's id, and the Statuspage incident's id is stored with the delivered create, so later
updates patch that incident and a create is never sent for an incident that already has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from bot.runbooks.engine import Clock
from bot.targets.outbound import DeliveryError

log = structlog.get_logger(__name__)

STATUSPAGE = "statuspage"
PAGERDUTY = "pagerduty"
# The timeline kinds of what the worker reports, so `/incident timeline` shows the public side too.
STATUSPAGE_EVENT = "status page"
PAGERDUTY_EVENT = "pager"


def dedup_key(incident_id: int) -> str:
    """PagerDuty's dedup key for an incident: the trigger, a retried trigger and the resolve share it."""
    return f"runbook-bot-incident-{incident_id}"


@dataclass(frozen=True)
class Outbound:
    """A call to make, written beside the incident change that causes it."""

    target: str
    action: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Claimed:
    id: int
    incident_id: int
    target: str
    action: str
    payload: Mapping[str, Any]
    attempts: int  # including this one
    statuspage_incident_id: str | None


@dataclass(frozen=True)
class Outcome:
    """How a claimed row ends this attempt, with the timeline line it adds (if any)."""

    state: str  # delivered, refused or pending
    event_kind: str
    event_text: str | None
    error: str | None = None
    next_attempt_at: datetime | None = None
    statuspage_incident_id: str | None = None


@dataclass(frozen=True)
class ClaimedWindow:
    """A row of a maintenance window: its Statuspage scheduled maintenance, created then patched."""

    id: int
    maintenance_id: int
    target: str
    action: str  # create, reschedule, start, complete, cancel
    payload: Mapping[str, Any]
    attempts: int  # including this one
    statuspage_incident_id: str | None


@dataclass(frozen=True)
class WindowOutcome:
    """How a window's row ends this attempt, as data: the window's timeline renders it from a template.

    `outcome` is delivered, pending, refused, or orphaned (a later step of a window whose create never
    reached Statuspage); `noted` says whether it becomes a timeline event (not every retry does)."""

    state: str  # delivered, refused or pending (the row's state)
    outcome: str
    noted: bool
    error: str | None = None
    next_attempt_at: datetime | None = None
    statuspage_incident_id: str | None = None


class OutboxStore(Protocol):
    async def claim_next(self, now: datetime, *, lease: timedelta) -> Claimed | None:
        """The oldest due row with no earlier pending row of its incident and target, leased to us."""
        ...

    async def finish(self, item: Claimed, outcome: Outcome, *, at: datetime) -> None:
        """Record the outcome and its timeline line in one transaction; the lease ends."""
        ...

    async def claim_next_window(self, now: datetime, *, lease: timedelta) -> ClaimedWindow | None:
        """The oldest due row of a maintenance window with no earlier pending row of its window, leased to us."""
        ...

    async def finish_window(self, item: ClaimedWindow, outcome: WindowOutcome, *, at: datetime) -> None:
        """Record the outcome (and, when `noted`, the window's timeline event) in one transaction."""
        ...


class StatuspageApi(Protocol):
    async def create_incident(self, page_id: str, incident: Mapping[str, Any]) -> str: ...

    async def update_incident(self, page_id: str, incident_id: str, incident: Mapping[str, Any]) -> None: ...


class PagerApi(Protocol):
    async def send_event(
        self, *, routing_key_env: str, event_action: str, dedup_key: str, payload: Mapping[str, Any] | None
    ) -> str: ...


def _delivered_text(item: Claimed) -> str:
    if item.target == PAGERDUTY:
        done = {"trigger": "triggered", "resolve": "resolved"}.get(item.action, item.action)
        return f"PagerDuty {done} (dedup key {dedup_key(item.incident_id)})"
    status = str(item.payload.get("incident", {}).get("status", ""))
    if item.action == "create":
        return f"status page updated: public incident created ({status})"
    if item.action == "resolve":
        return "status page updated: resolved, components back to operational"
    return f"status page updated: {status}"


def _what(item: Claimed) -> str:
    return "status page" if item.target == STATUSPAGE else "PagerDuty"


@dataclass
class OutboxWorker:
    store: OutboxStore
    statuspage: StatuspageApi | None
    pager: PagerApi | None
    clock: Clock
    backoff_seconds: float
    backoff_max_seconds: float
    lease: timedelta = field(default=timedelta(minutes=1))

    async def drain(self) -> int:
        """Deliver every row due now; how many attempts were made."""
        attempts = 0
        while (item := await self.store.claim_next(self.clock(), lease=self.lease)) is not None:
            attempts += 1
            outcome = await self.attempt(item)
            await self.store.finish(item, outcome, at=self.clock())
        return attempts + await self.drain_windows()

    async def drain_windows(self) -> int:
        """Deliver every maintenance window row due now (after the incidents' rows); how many attempts."""
        attempts = 0
        while (item := await self.store.claim_next_window(self.clock(), lease=self.lease)) is not None:
            attempts += 1
            outcome = await self.attempt_window(item)
            await self.store.finish_window(item, outcome, at=self.clock())
        return attempts

    async def attempt_window(self, item: ClaimedWindow) -> WindowOutcome:
        """The same retries as an incident's row: a refusal ends it, a temporary failure waits its backoff
        (or Retry-After), and only the first failure and the end become timeline events."""
        if self.statuspage is None:
            return WindowOutcome("refused", "unconfigured", noted=True)
        page_id = str(item.payload["page_id"])
        body: Mapping[str, Any] = item.payload["incident"]
        try:
            if item.action == "create":
                created = item.statuspage_incident_id or await self.statuspage.create_incident(page_id, body)
                return WindowOutcome("delivered", "delivered", noted=True, statuspage_incident_id=created)
            if not item.statuspage_incident_id:
                return WindowOutcome("refused", "orphaned", noted=True)
            await self.statuspage.update_incident(page_id, item.statuspage_incident_id, body)
        except DeliveryError as exc:
            if not exc.temporary:
                log.warning("outbox refused", target=item.target, action=item.action, reason=exc.reason)
                return WindowOutcome("refused", "refused", noted=True, error=exc.reason)
            delay = self.backoff(item.attempts) if exc.retry_after is None else exc.retry_after
            due = self.clock() + timedelta(seconds=delay)
            log.info("outbox retrying", target=item.target, action=item.action, reason=exc.reason, seconds=delay)
            return WindowOutcome("pending", "pending", noted=item.attempts == 1, error=exc.reason, next_attempt_at=due)
        return WindowOutcome("delivered", "delivered", noted=True)

    async def attempt(self, item: Claimed) -> Outcome:
        kind = STATUSPAGE_EVENT if item.target == STATUSPAGE else PAGERDUTY_EVENT
        try:
            created = await self._send(item)
        except DeliveryError as exc:
            if not exc.temporary:
                log.warning("outbox refused", target=item.target, action=item.action, reason=exc.reason)
                refusal = f"{_what(item)} refused the {item.action}: {exc.reason}"
                return Outcome("refused", kind, refusal, error=exc.reason)
            delay = self.backoff(item.attempts) if exc.retry_after is None else exc.retry_after
            due = self.clock() + timedelta(seconds=delay)
            log.info("outbox retrying", target=item.target, action=item.action, reason=exc.reason, seconds=delay)
            # One line for the first failure, not one per attempt: a long outage must not bury the timeline.
            first = f"{_what(item)} {item.action} pending, retrying: {exc.reason}" if item.attempts == 1 else None
            return Outcome("pending", kind, first, error=exc.reason, next_attempt_at=due)
        return Outcome("delivered", kind, _delivered_text(item), statuspage_incident_id=created)

    def backoff(self, attempts: int) -> float:
        return float(min(self.backoff_max_seconds, self.backoff_seconds * 2 ** max(0, attempts - 1)))

    async def _send(self, item: Claimed) -> str | None:
        if item.target == PAGERDUTY:
            if self.pager is None:
                raise DeliveryError("the catalog has no `pagerduty` section", temporary=False)
            await self.pager.send_event(
                routing_key_env=str(item.payload["routing_key_env"]),
                event_action=item.action,
                dedup_key=dedup_key(item.incident_id),
                payload=item.payload.get("payload"),
            )
            return None
        if self.statuspage is None:
            raise DeliveryError("the catalog has no `statuspage` section", temporary=False)
        page_id = str(item.payload["page_id"])
        body: Mapping[str, Any] = item.payload["incident"]
        if item.action == "create":
            if item.statuspage_incident_id:  # delivered before: never a second public incident
                return item.statuspage_incident_id
            return await self.statuspage.create_incident(page_id, body)
        if not item.statuspage_incident_id:
            raise DeliveryError("there is no public incident to update (its creation was refused)", temporary=False)
        await self.statuspage.update_incident(page_id, item.statuspage_incident_id, body)
        return None
