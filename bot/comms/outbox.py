"""The outbox: every call to Statuspage or PagerDuty, delivered after the incident change that caused it.

A row is written in the same transaction as that change (declaring, confirming a public update,
resolving), so a crash, a restart or an outage of the other side never loses one. The worker that
every replica runs claims one due row at a time (`FOR UPDATE SKIP LOCKED` and a lease, so a row is
delivered by one replica), in order per incident, target and Statuspage page (an update never
overtakes the create it patches; one page's outage does not hold up another page), and ends it as
delivered, refused (a 4xx other than a rate limit: the timeline says what and why, and it is not
retried) or pending again after a backoff that honours `Retry-After`. Its timeline entries are data
(bot/comms/outbox_events.py), worded by the timeline's template.

Delivery is idempotent where the other side allows: PagerDuty events carry a dedup key derived from
the incident's id, and the Statuspage incident's id is stored with the delivered create, so later
updates patch that incident and a create is never sent for an incident that already has one.
Statuspage has no idempotency key, so a create carries the row's own key in the incident's
`metadata`; a create attempted again (its first attempt failed, or its replica died before recording
the answer) first looks for the page's unresolved incident (a maintenance window's: its scheduled
maintenance) carrying that key and adopts it: a crash between Statuspage accepting a create and our
commit never makes a second public incident or maintenance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import structlog

from bot import errors
from bot.comms import outbox_events
from bot.runbooks.engine import Clock
from bot.targets.outbound import DeliveryError

log = structlog.get_logger(__name__)

STATUSPAGE = "statuspage"
PAGERDUTY = "pagerduty"
# An attempt ends (as a temporary failure) before this share of its row's lease has passed: after the
# lease another replica may take the row, and its create must find ours already answered or abandoned.
LEASE_SHARE = 0.8
# The timeline kinds of what the worker reports, so `/incident timeline` shows the public side too.
STATUSPAGE_EVENT = "status page"
PAGERDUTY_EVENT = "pager"

T = TypeVar("T")


def outbox_metadata(key: str) -> dict[str, dict[str, str]]:
    """The Statuspage incident's `metadata` naming the outbox row that created it (top-level values are objects)."""
    return {"runbook_bot": {"outbox_key": key}}


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
    idempotency_key: str  # the row's own key: a Statuspage create carries it in its metadata


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
    idempotency_key: str  # the row's own key: the scheduled maintenance's create carries it in its metadata


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
        """The oldest due row with no earlier pending row of its incident, target and page, leased to us."""
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

    async def find_unresolved(self, page_id: str, metadata: Mapping[str, Mapping[str, str]]) -> str | None:
        """The id of the page's unresolved incident whose metadata includes `metadata`, if any."""
        ...

    async def find_scheduled(self, page_id: str, metadata: Mapping[str, Mapping[str, str]]) -> str | None:
        """The id of the page's scheduled maintenance whose metadata includes `metadata`, if any."""
        ...

    async def update_incident(self, page_id: str, incident_id: str, incident: Mapping[str, Any]) -> None: ...


class PagerApi(Protocol):
    async def send_event(
        self, *, routing_key_env: str, event_action: str, dedup_key: str, payload: Mapping[str, Any] | None
    ) -> str: ...


def _event(item: Claimed, outcome: str, reason: str = "") -> str:
    """The timeline entry of an attempt, as data: the template words it (bot/comms/outbox_events.py)."""
    pager = item.target == PAGERDUTY
    return outbox_events.encode(
        outbox_events.Delivery(
            target=item.target,
            action=item.action,
            outcome=outcome,
            page="" if pager else str(item.payload.get("page_id", "")),
            services=() if pager else outbox_events.names_of(item.payload.get("services")),
            status="" if pager else str(item.payload.get("incident", {}).get("status", "")),
            reason=reason,
            dedup_key=dedup_key(item.incident_id) if pager else "",
        )
    )


@dataclass
class OutboxWorker:
    store: OutboxStore
    statuspage: StatuspageApi | None
    pager: PagerApi | None
    clock: Clock
    backoff_seconds: float
    backoff_max_seconds: float
    lease: timedelta = field(default=timedelta(minutes=1))
    # One drain at a time in a process: a drain asked for while the poller's is delivering waits for it,
    # rather than skip the row it has leased and return before that row is delivered.
    _draining: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    async def drain(self) -> int:
        """Deliver every row due now; how many attempts were made."""
        async with self._draining:
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
        if item.action != "create" and not item.statuspage_incident_id:
            return WindowOutcome("refused", "orphaned", noted=True)
        try:
            created = await self._within_lease(self._send_window(self.statuspage, item))
        except DeliveryError as exc:
            if not exc.temporary:
                log.warning("outbox refused", target=item.target, action=item.action, reason=exc.reason)
                return WindowOutcome("refused", "refused", noted=True, error=exc.reason)
            delay = self.backoff(item.attempts) if exc.retry_after is None else exc.retry_after
            due = self.clock() + timedelta(seconds=delay)
            log.info("outbox retrying", target=item.target, action=item.action, reason=exc.reason, seconds=delay)
            return WindowOutcome("pending", "pending", noted=item.attempts == 1, error=exc.reason, next_attempt_at=due)
        return WindowOutcome("delivered", "delivered", noted=True, statuspage_incident_id=created)

    async def _send_window(self, statuspage: StatuspageApi, item: ClaimedWindow) -> str | None:
        page_id = str(item.payload["page_id"])
        body: Mapping[str, Any] = item.payload["incident"]
        if item.action == "create":
            if item.statuspage_incident_id:  # delivered before: never a second scheduled maintenance
                return item.statuspage_incident_id
            return await _create_once(
                statuspage, page_id, body, item.idempotency_key, item.attempts, statuspage.find_scheduled
            )
        assert item.statuspage_incident_id is not None  # attempt_window ended an orphaned step already
        await statuspage.update_incident(page_id, item.statuspage_incident_id, body)
        return None

    async def attempt(self, item: Claimed) -> Outcome:
        kind = STATUSPAGE_EVENT if item.target == STATUSPAGE else PAGERDUTY_EVENT
        try:
            created = await self._within_lease(self._send(item))
        except DeliveryError as exc:
            if not exc.temporary:
                log.warning("outbox refused", target=item.target, action=item.action, reason=exc.reason)
                refusal = _event(item, outbox_events.REFUSED, exc.reason)
                return Outcome("refused", kind, refusal, error=exc.reason)
            delay = self.backoff(item.attempts) if exc.retry_after is None else exc.retry_after
            due = self.clock() + timedelta(seconds=delay)
            log.info("outbox retrying", target=item.target, action=item.action, reason=exc.reason, seconds=delay)
            # One line for the first failure, not one per attempt: a long outage must not bury the timeline.
            first = _event(item, outbox_events.RETRYING, exc.reason) if item.attempts == 1 else None
            return Outcome("pending", kind, first, error=exc.reason, next_attempt_at=due)
        delivered = _event(item, outbox_events.DELIVERED)
        return Outcome("delivered", kind, delivered, statuspage_incident_id=created)

    def backoff(self, attempts: int) -> float:
        return float(min(self.backoff_max_seconds, self.backoff_seconds * 2 ** max(0, attempts - 1)))

    async def _within_lease(self, call: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self.lease.total_seconds() * LEASE_SHARE):
                return await call
        except TimeoutError as exc:  # only our deadline: the calls' own timeouts are DeliveryErrors
            raise DeliveryError(errors.Said("delivery_lease_over"), temporary=True) from exc

    async def _send(self, item: Claimed) -> str | None:
        if item.target == PAGERDUTY:
            if self.pager is None:
                raise DeliveryError(
                    errors.Said("catalog_lacks_section", section=errors.Code("pagerduty")), temporary=False
                )
            await self.pager.send_event(
                routing_key_env=str(item.payload["routing_key_env"]),
                event_action=item.action,
                dedup_key=dedup_key(item.incident_id),
                payload=item.payload.get("payload"),
            )
            return None
        if self.statuspage is None:
            raise DeliveryError(
                errors.Said("catalog_lacks_section", section=errors.Code("statuspage")), temporary=False
            )
        page_id = str(item.payload["page_id"])
        body: Mapping[str, Any] = item.payload["incident"]
        if item.action == "create":
            if item.statuspage_incident_id:  # delivered before: never a second public incident
                return item.statuspage_incident_id
            return await _create_once(
                self.statuspage, page_id, body, item.idempotency_key, item.attempts, self.statuspage.find_unresolved
            )
        if not item.statuspage_incident_id:
            raise DeliveryError(errors.Said("no_public_incident_to_update"), temporary=False)
        await self.statuspage.update_incident(page_id, item.statuspage_incident_id, body)
        return None


async def _create_once(
    statuspage: StatuspageApi,
    page_id: str,
    body: Mapping[str, Any],
    key: str,
    attempts: int,
    find: Callable[[str, Mapping[str, Mapping[str, str]]], Awaitable[str | None]],
) -> str:
    """Create on the page with the row's key in the metadata, unless `find` (the list where such a create
    would be) shows an earlier attempt's: it may have been accepted before its answer was recorded."""
    metadata = outbox_metadata(key)
    if attempts > 1:
        adopted = await find(page_id, metadata)
        if adopted is not None:
            log.info("outbox adopted a created incident", page=page_id, key=key, statuspage=adopted)
            return adopted
    return await statuspage.create_incident(page_id, {**body, "metadata": metadata})
