"""Who may run what, where: roles, channel guardrails and the rate limit on destructive requests.

Checked when a command arrives and again when a button is clicked. Knows neither
Slack nor Redis: group membership and rate counting come in through protocols.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot import errors
from bot.catalog import Catalog
from bot.runbooks.model import Procedure

APPROVER_ROLE = "approver"
VIEWER_ROLE = "viewer"  # may read: status, history, health


class GroupDirectory(Protocol):
    """Which user groups (handles and ids) a user belongs to."""

    async def groups_of(self, user_id: str) -> frozenset[str]: ...


class RateLimiter(Protocol):
    """Counts a distinct member (a change) under `key`; returns seconds to wait when over the limit, else None."""

    async def hit(self, key: str, *, limit: int, window_seconds: int, member: str) -> int | None: ...


@dataclass(frozen=True)
class RateLimit:
    destructive_per_window: int = 10
    window_seconds: int = 60


class Policy:
    def __init__(
        self,
        catalog: Catalog,
        groups: GroupDirectory,
        limiter: RateLimiter,
        rate_limit: RateLimit = RateLimit(),
    ) -> None:
        self._catalog = catalog
        self._groups = groups
        self._limiter = limiter
        self._rate_limit = rate_limit

    async def roles_of(self, user_id: str) -> frozenset[str]:
        roles = {name for name, role in self._catalog.roles.items() if user_id in role.users}
        needs_groups = any(role.groups for name, role in self._catalog.roles.items() if name not in roles)
        if needs_groups:
            groups = await self._groups.groups_of(user_id)
            roles |= {name for name, role in self._catalog.roles.items() if groups & set(role.groups)}
        return frozenset(roles)

    async def may_run(self, procedure: Procedure, user_id: str) -> bool:
        return bool(await self.roles_of(user_id) & set(procedure.roles))

    def _who_may(self, roles: list[str]) -> str:
        people: list[str] = []
        for name in roles:
            role = self._catalog.roles.get(name)
            if role is None:
                continue
            people += [f"<@{u}>" for u in role.users] + [f"@{g}" for g in role.groups]
        shown = ", ".join(dict.fromkeys(people)) or "nobody yet"
        return f"role {' or '.join(f'`{r}`' for r in roles)} ({shown})"

    async def check_role(self, user_id: str, role: str, doing: str) -> None:
        """Raise DeniedError unless the user holds `role` (built-in commands that are not procedures)."""
        if role not in await self.roles_of(user_id):
            raise errors.DeniedError(f"You may not {doing}: it needs {self._who_may([role])}.", reason="role")

    def channel_allowed(self, procedure: Procedure, channel_id: str) -> bool:
        if not procedure.channels:
            return True
        return channel_id in {self._catalog.channels.resolve(c) for c in procedure.channels}

    async def check_request(self, procedure: Procedure, user_id: str, channel_id: str) -> None:
        """Raise DeniedError unless the user may start this procedure in this channel now."""
        if not await self.may_run(procedure, user_id):
            raise errors.DeniedError(
                f"You may not run `{procedure.name}`: it needs {self._who_may(procedure.roles)}.",
                reason="role",
            )
        if not self.channel_allowed(procedure, channel_id):
            allowed = ", ".join(f"<#{self._catalog.channels.resolve(c)}>" for c in procedure.channels)
            raise errors.DeniedError(f"`{procedure.name}` may only be run in {allowed}.", reason="channel")

    async def check_change_rate(self, requester: str, change: str) -> None:
        """Count a confirmed change against its requester's limit (previews, cancelled and no-op requests
        never count); the catalog may set the limit per role, the highest of the requester's roles wins."""
        limits = [
            role.changes_per_minute
            for name in await self.roles_of(requester)
            if (role := self._catalog.roles.get(name)) is not None and role.changes_per_minute is not None
        ]
        limit = max(limits, default=self._rate_limit.destructive_per_window)
        wait = await self._limiter.hit(
            f"changes:{requester}", limit=limit, window_seconds=self._rate_limit.window_seconds, member=change
        )
        if wait is not None:
            raise errors.DeniedError(
                f"<@{requester}> has had {limit} changes confirmed in the last "
                f"{self._rate_limit.window_seconds}s; confirm this one in {wait}s.",
                reason="rate_limit",
            )

    async def check_confirm(self, procedure: Procedure, *, requester: str, clicker: str, channel_id: str) -> str:
        """Raise DeniedError unless `clicker` may confirm; returns 'requester' or 'approver'."""
        if not self.channel_allowed(procedure, channel_id):
            raise errors.DeniedError(f"`{procedure.name}` may not run in this channel.", reason="channel")
        roles = await self.roles_of(clicker)
        if not roles & set(procedure.roles):
            raise errors.DeniedError(
                f"You may not confirm `{procedure.name}`: it needs {self._who_may(procedure.roles)}.",
                reason="role",
            )
        if procedure.approval == "two_person":
            if clicker == requester:
                raise errors.DeniedError(
                    f"`{procedure.name}` needs a second person: someone with "
                    f"{self._who_may([APPROVER_ROLE])} other than you must approve.",
                    reason="same_approver",
                )
            if APPROVER_ROLE not in roles:
                raise errors.DeniedError(
                    f"Approving `{procedure.name}` needs {self._who_may([APPROVER_ROLE])}.",
                    reason="approver_role",
                )
            return "approver"
        if clicker != requester and APPROVER_ROLE not in roles:
            raise errors.DeniedError(
                f"Only <@{requester}> or someone with {self._who_may([APPROVER_ROLE])} may confirm this.",
                reason="not_requester",
            )
        return "requester" if clicker == requester else "approver"
