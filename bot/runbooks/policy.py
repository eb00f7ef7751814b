"""Who may run what, where: roles, channel guardrails and the rate limit on destructive requests.

Checked when a command arrives and again when a button is clicked. Knows neither
Slack nor Redis: group membership and rate counting come in through protocols.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn, Protocol

from bot import errors
from bot.catalog import Catalog
from bot.runbooks.model import Procedure

APPROVER_ROLE = "approver"
# Members may confirm their own two-person request when they give an emergency reason (break-glass).
BREAKGLASS_ROLE = "breakglass"
EMERGENCY_ARG = "emergency"
VIEWER_ROLE = "viewer"  # may read: status, history, health

Said = errors.Said  # a refusal: a phrase of the book, naming people and roles as fields


def _roles(roles: Sequence[str]) -> list[errors.Field]:
    """The roles a refusal names, as code."""
    return [errors.Code(role) for role in roles]


class GroupDirectory(Protocol):
    """Which user groups (handles and ids) a user belongs to; UnavailableError when it cannot tell."""

    async def groups_of(self, user_id: str) -> frozenset[str]: ...


class RateLimiter(Protocol):
    """Counts a distinct member (a change) under `key`; returns seconds to wait when over the limit, else None."""

    async def hit(self, key: str, *, limit: int, window_seconds: int, member: str) -> int | None: ...


class Comms(enum.Enum):
    """A communications verb: (section of the catalog's `comms:`, key in it, what the user is doing)."""

    READ_INCIDENTS = ("incident", "read")
    DECLARE_INCIDENT = ("incident", "declare")
    UPDATE_INCIDENT = ("incident", "update")
    RESOLVE_INCIDENT = ("incident", "resolve")
    PUBLISH_INCIDENT = ("incident", "publish")
    READ_MAINTENANCE = ("maintenance", "read")
    SCHEDULE_MAINTENANCE = ("maintenance", "schedule")
    CANCEL_MAINTENANCE = ("maintenance", "cancel")

    def __init__(self, section: str, key: str) -> None:
        self.section = section
        self.key = key

    @property
    def doing(self) -> errors.Said:
        """What the user is doing, as a refusal says it (a phrase of the book)."""
        return _COMMS_DOING[self]


_COMMS_DOING = {
    Comms.READ_INCIDENTS: errors.Said("doing_read_incidents"),
    Comms.DECLARE_INCIDENT: errors.Said("doing_declare_incident"),
    Comms.UPDATE_INCIDENT: errors.Said("doing_update_incident"),
    Comms.RESOLVE_INCIDENT: errors.Said("doing_resolve_incident"),
    Comms.PUBLISH_INCIDENT: errors.Said("doing_publish_incident"),
    Comms.READ_MAINTENANCE: errors.Said("doing_read_maintenance"),
    Comms.SCHEDULE_MAINTENANCE: errors.Said("doing_schedule_maintenance"),
    Comms.CANCEL_MAINTENANCE: errors.Said("doing_cancel_maintenance"),
}


@dataclass(frozen=True)
class Membership:
    """The roles a user holds, and those they may hold through a user group that cannot be read now."""

    roles: frozenset[str]
    unchecked: frozenset[str] = frozenset()


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

    async def membership(self, user_id: str) -> Membership:
        """Roles named directly never depend on Slack; a group lookup that fails leaves its roles unchecked."""
        direct = {name for name, role in self._catalog.roles.items() if user_id in role.users}
        through_groups = {name for name, role in self._catalog.roles.items() if name not in direct and role.groups}
        if not through_groups:
            return Membership(frozenset(direct))
        try:
            groups = await self._groups.groups_of(user_id)
        except errors.UnavailableError:
            return Membership(frozenset(direct), unchecked=frozenset(through_groups))
        held = {name for name in through_groups if groups & set(self._catalog.roles[name].groups)}
        return Membership(frozenset(direct | held))

    async def roles_of(self, user_id: str) -> frozenset[str]:
        return (await self.membership(user_id)).roles

    async def may_run(self, procedure: Procedure, user_id: str) -> bool:
        return bool(await self.roles_of(user_id) & set(procedure.roles))

    def _refuse(
        self,
        membership: Membership,
        needed: Sequence[str],
        refusal: Said,
        reason: str,
        *,
        holder: errors.User | None = None,
    ) -> NoReturn:
        """Deny: for not holding a role, or (fail closed) because the group that would grant it cannot be read.
        `holder` is who would hold the role (None: the person asking)."""
        unchecked = [name for name in needed if name in membership.unchecked]
        if unchecked:
            groups = list(dict.fromkeys(f"@{g}" for name in unchecked for g in self._catalog.roles[name].groups))
            raise errors.DeniedError(
                "groups_unreadable", groups=groups, holder=holder, roles=_roles(unchecked), reason="groups_unavailable"
            )
        raise errors.DeniedError(refusal, reason=reason)

    async def _require(self, user_id: str, needed: Sequence[str], refusal: Said, reason: str = "role") -> Membership:
        membership = await self.membership(user_id)
        if not membership.roles & set(needed):
            self._refuse(membership, needed, refusal, reason)
        return membership

    def _who_may(self, roles: list[str]) -> Said:
        people: dict[errors.User | str, None] = {}
        for name in roles:
            role = self._catalog.roles.get(name)
            if role is None:
                continue
            people.update(dict.fromkeys([errors.User(u) for u in role.users] + [f"@{g}" for g in role.groups]))
        return errors.Said("who_may", roles=_roles(roles), people=list(people))

    async def check_emergency(self, procedure: Procedure, user_id: str) -> None:
        """An emergency request is for break-glass members only, and only where a second person is the rule."""
        if procedure.approval != "two_person":
            raise errors.UserError("no_second_person", procedure=errors.Code(procedure.name))
        doing = errors.Said("doing_emergency", procedure=errors.Code(procedure.name))
        await self.check_role(user_id, BREAKGLASS_ROLE, doing)

    async def check_role(self, user_id: str, role: str, doing: Said) -> None:
        """Raise DeniedError unless the user holds `role` (built-in commands that are not procedures)."""
        await self._require(user_id, [role], errors.Said("may_not", doing=doing, who_may=self._who_may([role])))

    async def check_comms(
        self, user_id: str, verb: Comms, *, lead: str | None = None, incident: int | None = None
    ) -> None:
        """Raise DeniedError unless the catalog's `comms:` lets the user do this; the `lead` of the
        incident concerned may always update and resolve it."""
        if lead is not None and user_id == lead:
            return
        roles: list[str] = list(getattr(getattr(self._catalog.comms, verb.section), verb.key))
        doing = errors.Said("doing_to_incident", doing=verb.doing, incident=incident) if incident else verb.doing
        refusal = errors.Said("may_not", doing=doing, who_may=self._who_may(roles))
        if lead is not None:
            refusal = errors.Said("only_lead_may", lead=errors.User(lead), who_may=self._who_may(roles), doing=doing)
        await self._require(user_id, roles, refusal)

    async def check_lead(self, lead: str) -> None:
        """The person named as an incident's lead must hold a role: reminders go to someone who can act."""
        roles = list(self._catalog.comms.incident.lead)
        membership = await self.membership(lead)
        if not membership.roles & set(roles):
            refusal = errors.Said("cannot_lead", lead=errors.User(lead), who_may=self._who_may(roles))
            self._refuse(membership, roles, refusal, "lead_role", holder=errors.User(lead))

    def channel_allowed(self, procedure: Procedure, channel_id: str) -> bool:
        if not procedure.channels:
            return True
        return channel_id in {self._catalog.channels.resolve(c) for c in procedure.channels}

    async def check_request(self, procedure: Procedure, user_id: str, channel_id: str) -> None:
        """Raise DeniedError unless the user may start this procedure in this channel now."""
        name = errors.Code(procedure.name)
        doing = errors.Said("doing_run", procedure=name)
        await self._require(
            user_id, procedure.roles, errors.Said("may_not", doing=doing, who_may=self._who_may(procedure.roles))
        )
        if not self.channel_allowed(procedure, channel_id):
            allowed = [errors.Channel(self._catalog.channels.resolve(c)) for c in procedure.channels]
            raise errors.DeniedError("only_in_channels", procedure=name, channels=allowed, reason="channel")

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
                "rate_limited",
                requester=errors.User(requester),
                limit=limit,
                window=self._rate_limit.window_seconds,
                wait=wait,
                reason="rate_limit",
            )

    async def check_confirm(
        self, procedure: Procedure, *, requester: str, clicker: str, channel_id: str, emergency: bool = False
    ) -> str:
        """Raise DeniedError unless `clicker` may confirm; returns 'requester', 'approver' or, for an
        emergency request confirmed by its own requester in the breakglass role, 'breakglass'."""
        name = errors.Code(procedure.name)
        if not self.channel_allowed(procedure, channel_id):
            raise errors.DeniedError("not_in_this_channel", procedure=name, reason="channel")
        membership = await self._require(
            clicker,
            procedure.roles,
            errors.Said(
                "may_not", doing=errors.Said("doing_confirm", procedure=name), who_may=self._who_may(procedure.roles)
            ),
        )
        roles = membership.roles
        if procedure.approval == "two_person":
            if clicker == requester and emergency and BREAKGLASS_ROLE in roles:
                return BREAKGLASS_ROLE
            if clicker == requester:
                raise errors.DeniedError(
                    "second_person_needed",
                    procedure=name,
                    who_may=self._who_may([APPROVER_ROLE]),
                    reason="same_approver",
                )
            if APPROVER_ROLE not in roles:
                self._refuse(
                    membership,
                    [APPROVER_ROLE],
                    errors.Said("approving_needs", procedure=name, who_may=self._who_may([APPROVER_ROLE])),
                    reason="approver_role",
                )
            return "approver"
        if clicker != requester and APPROVER_ROLE not in roles:
            self._refuse(
                membership,
                [APPROVER_ROLE],
                errors.Said(
                    "only_requester_or_approver",
                    requester=errors.User(requester),
                    who_may=self._who_may([APPROVER_ROLE]),
                ),
                reason="not_requester",
            )
        return "requester" if clicker == requester else "approver"
