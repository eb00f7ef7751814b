"""The lock port: one change per target (a deployment, a compose service, a database) at a time."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from bot import errors
from bot.actions.registry import ActionRegistry
from bot.catalog import Catalog
from bot.runbooks.model import Procedure


@dataclass(frozen=True)
class Holder:
    """Who holds a target's lock, for the message to whoever is waiting."""

    owner: str
    since: float
    procedure: str | None  # what holds it, as data (None in a record written before they were recorded)
    service: str | None
    detail: str = ""  # the text a record written before kept instead (`scale` on backend), said as it is
    execution: str | None = None  # the execution holding it (None for locks taken before this was recorded)

    def describe(self) -> errors.Said:
        minutes = max(0, int((time.time() - self.since) // 60))
        return errors.Said("lock_holder", detail=self.held_for(), owner=errors.User(self.owner), minutes=minutes)

    def held_for(self) -> errors.Field:
        """What holds the lock: the procedure on the service, worded by the book, or an old record's text."""
        if self.procedure is None:
            return self.detail
        return held_for(self.procedure, self.service)


def held_for(procedure: str, service: str | None) -> errors.Said:
    """The lock's reason, said by the book (`scale` on backend)."""
    return errors.Said("lock_for", procedure=errors.Code(procedure), service=service)


class Locks(Protocol):
    """A lock per target with a TTL. `acquire` returns an opaque token for `release`, or the Holder when busy.

    The lock records the execution that holds it, so whoever finds that execution ended (the sweep,
    crash recovery, a shutdown) frees the target with `release_of` without knowing the token."""

    async def acquire(
        self, name: str, *, owner: str, procedure: str, service: str | None, ttl_seconds: int, execution: str
    ) -> object: ...

    async def release(self, token: object) -> None: ...

    async def release_of(self, name: str, execution: str) -> bool:
        """Compare-and-delete: free `name` only while `execution` holds it; True when it did."""
        ...

    async def holder(self, name: str) -> Holder | None: ...


class BusyError(errors.UserError):
    """Another change holds the target's lock."""

    def __init__(self, service: str | None, holder: Holder, then: errors.Said) -> None:
        super().__init__("being_changed", service=service, holder=holder.describe(), then=then)
        self.holder = holder


def lock_name(catalog: Catalog, service: str | None, procedure: Procedure, registry: ActionRegistry) -> str | None:
    """The lock of the target the procedure's first changing step acts on (kind + address): two services
    naming the same deployment or compose service share one lock."""
    if service is None:
        return None
    component = procedure.target.component if procedure.target else None
    for step in procedure.steps:
        action = registry.get(step.action)
        if action.mutating:
            target = catalog.services[service].target(action.target, component)
            return None if target is None else target.address
    return None
