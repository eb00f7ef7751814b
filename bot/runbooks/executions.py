"""The execution record and the storage ports the engine needs (implemented in bot/store)."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class State(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    INTERRUPTED = "interrupted"

    @property
    def final(self) -> bool:
        return self not in (State.PENDING, State.RUNNING)


@dataclass(frozen=True)
class StepRecord:
    index: int
    label: str
    ok: bool
    summary: str
    seconds: float
    details: str | None = None


@dataclass(frozen=True)
class Execution:
    id: uuid.UUID
    procedure: str
    args: Mapping[str, Any]
    service: str | None
    lock_key: str | None
    requester: str
    channel_id: str
    approval: str
    state: State
    created_at: datetime
    expires_at: datetime
    team_id: str | None = None
    message_ts: str | None = None
    response_url: str | None = None
    approver: str | None = None
    preview: Mapping[str, Any] | None = None
    steps: Sequence[StepRecord] = field(default_factory=tuple)
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    command: str | None = None  # canonical command text (parser.ParsedCommand.text)


@dataclass(frozen=True)
class AuditEntry:
    kind: str  # request, denied, preview, confirmed, cancelled, step, outcome, expired, interrupted, …
    actor: str
    channel_id: str | None = None
    execution_id: uuid.UUID | None = None
    procedure: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


class ExecutionStore(Protocol):
    """Persistence of executions; every state change is written together with its audit row."""

    async def create(self, execution: Execution, audit: Sequence[AuditEntry]) -> None: ...

    async def get(self, execution_id: uuid.UUID) -> Execution | None: ...

    async def set_message(self, execution_id: uuid.UUID, channel_id: str, message_ts: str) -> None: ...

    async def claim(self, execution_id: uuid.UUID, *, approver: str, owner: str, audit: AuditEntry) -> Execution | None:
        """pending → running if not expired; None when someone else won or it expired."""
        ...

    async def unclaim(self, execution_id: uuid.UUID, audit: AuditEntry) -> None:
        """running → pending (the target's lock was busy; nothing ran)."""
        ...

    async def record_step(self, execution_id: uuid.UUID, step: StepRecord, audit: AuditEntry) -> None: ...

    async def heartbeat(self, execution_id: uuid.UUID) -> None: ...

    async def finish(
        self, execution_id: uuid.UUID, state: State, *, error: str | None, audit: AuditEntry
    ) -> Execution | None: ...

    async def cancel(self, execution_id: uuid.UUID, audit: AuditEntry) -> Execution | None:
        """pending → cancelled; None when it was no longer pending."""
        ...

    async def expire_due(self) -> list[Execution]: ...

    async def interrupt_orphans(self, *, stale_after_seconds: float) -> list[Execution]: ...

    async def recent(self, *, service: str | None, limit: int) -> list[Execution]: ...

    async def last_started(self, lock_key: str) -> Execution | None:
        """The execution that last started on this target (lock), whatever its state."""
        ...

    async def audit(self, entry: AuditEntry) -> None: ...
