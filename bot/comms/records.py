"""Incidents and maintenance windows as the comms feature sees them, and the stores it needs.

The records are defined here, in the feature, and the ports are Protocols: bot.store implements
them with SQL (PostgresIncidentStore, PostgresMaintenanceStore) and the composition root wires
them in, so comms never imports the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.comms.outbox import Outbound


@dataclass(frozen=True)
class Incident:
    id: int
    title: str
    severity: str
    impact: str
    services: tuple[str, ...]
    lead: str
    declared_by: str
    state: str
    channel_id: str
    message_ts: str | None
    root_cause: str | None
    resolution: str | None
    declared_at: datetime
    resolved_at: datetime | None

    @property
    def open(self) -> bool:
        return self.state == "open"


@dataclass(frozen=True)
class IncidentEvent:
    at: datetime
    kind: str
    actor: str
    text: str


@dataclass(frozen=True)
class MaintenanceWindow:
    id: int
    purpose: str
    services: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime
    state: str
    channel_id: str
    created_by: str
    created_at: datetime
    cancelled_by: str | None
    message_ts: str | None = None  # the announcement; status page previews go in its thread


@dataclass(frozen=True)
class WindowEvent:
    """A step of a window's status page side, as data (templates word it): who or what, which step, how it went."""

    at: datetime
    kind: str  # public (a preview decided), status page (the outbox worker)
    actor: str
    action: str  # create, reschedule, start, complete, cancel
    outcome: str  # confirmed, cancelled; delivered, pending, refused, orphaned, unconfigured
    detail: str  # what Statuspage answered, when it refused or failed


class IncidentStore(Protocol):
    async def create(
        self,
        *,
        title: str,
        severity: str,
        impact: str,
        services: Sequence[str],
        lead: str,
        declared_by: str,
        channel_id: str,
        at: datetime,
        outbox: Sequence[Outbound] = (),
    ) -> Incident:
        """The incident, its `declared` event and the outbox rows it causes, in one transaction."""
        ...

    async def get(self, incident_id: int) -> Incident | None: ...

    async def set_message(self, incident_id: int, ts: str) -> None: ...

    async def add_event(self, incident_id: int, *, at: datetime, kind: str, actor: str, text: str = "") -> None: ...

    async def resolve(
        self,
        incident_id: int,
        *,
        at: datetime,
        actor: str,
        root_cause: str,
        resolution: str,
        outbox: Sequence[Outbound] = (),
    ) -> Incident | None:
        """open → resolved (with the outbox rows it causes), once: a second resolve gets None."""
        ...

    async def recent(self, *, open_only: bool, limit: int = 20) -> list[Incident]: ...

    async def timeline(self, incident_id: int) -> list[IncidentEvent]: ...


class MaintenanceStore(Protocol):
    async def create(
        self,
        *,
        purpose: str,
        services: Sequence[str],
        starts_at: datetime,
        ends_at: datetime,
        channel_id: str,
        created_by: str,
        at: datetime,
    ) -> MaintenanceWindow: ...

    async def get(self, window_id: int) -> MaintenanceWindow | None: ...

    async def move(
        self, window_id: int, *, from_states: Sequence[str], to: str, cancelled_by: str | None = None
    ) -> MaintenanceWindow | None:
        """One atomic state change; None when the window was not in one of `from_states`."""
        ...

    async def upcoming(self, *, limit: int = 20) -> list[MaintenanceWindow]: ...

    async def reschedule(self, window_id: int, *, starts_at: datetime, ends_at: datetime) -> MaintenanceWindow | None:
        """New times for a window still `scheduled`, atomically; None when it is not (or not there)."""
        ...

    async def set_message(self, window_id: int, ts: str) -> None: ...

    async def latest_status_page_events(self, window_ids: Sequence[int]) -> dict[int, WindowEvent]:
        """Each window's newest status page event (what the outbox worker last made of it)."""
        ...
