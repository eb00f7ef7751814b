"""The lock port: one change per target (deployment) at a time, across every replica."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from bot import errors
from bot.catalog import Catalog


@dataclass(frozen=True)
class Holder:
    """Who holds a target's lock, for the message to whoever is waiting."""

    owner: str
    since: float
    detail: str

    def describe(self) -> str:
        minutes = max(0, int((time.time() - self.since) // 60))
        return f"{self.detail} by <@{self.owner}>, started {minutes} min ago"


class Locks(Protocol):
    """A lock per target with a TTL. `acquire` returns an opaque token for `release`, or the Holder when busy."""

    async def acquire(self, name: str, *, owner: str, detail: str, ttl_seconds: int) -> object: ...

    async def release(self, token: object) -> None: ...

    async def holder(self, name: str) -> Holder | None: ...


class BusyError(errors.UserError):
    """Another change holds the target's lock."""

    def __init__(self, service: str | None, holder: Holder, then: str) -> None:
        super().__init__(f"{service} is being changed right now ({holder.describe()}). {then}")


def lock_name(catalog: Catalog, service: str | None) -> str | None:
    """The lock of a service's deployment: the same deployment named by two services shares one."""
    if service is None:
        return None
    svc = catalog.services[service]
    return f"{svc.context or 'default'}/{svc.namespace}/deployment/{svc.deployment}"
