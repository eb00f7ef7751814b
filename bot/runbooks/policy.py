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

Said = Sequence[errors.Part]  # a refusal in parts: the chat surface mentions the people it names


def _either(roles: Sequence[str]) -> list[errors.Part]:
    """`a` or `b`: the roles a refusal names."""
    said: list[errors.Part] = []
    for role in roles:
        said += [" or "] * bool(said) + [errors.Code(role)]
    return said


class GroupDirectory(Protocol):
    """Which user groups (handles and ids) a user belongs to; UnavailableError when it cannot tell."""

    async def groups_of(self, user_id: str) -> frozenset[str]: ...


class RateLimiter(Protocol):
    """Counts a distinct member (a change) under `key`; returns seconds to wait when over the limit, else None."""

    async def hit(self, key: str, *, limit: int, window_seconds: int, member: str) -> int | None: ...


class Comms(enum.Enum):
    """A communications verb: (section of the catalog's `comms:`, key in it, what the user is doing)."""

    READ_INCIDENTS = ("incident", "read", "read incidents")
    DECLARE_INCIDENT = ("incident", "declare", "declare an incident")
    UPDATE_INCIDENT = ("incident", "update", "update")
    RESOLVE_INCIDENT = ("incident", "resolve", "resolve")
    PUBLISH_INCIDENT = ("incident", "publish", "post to the status page")
    READ_MAINTENANCE = ("maintenance", "read", "read maintenance windows")
    SCHEDULE_MAINTENANCE = ("maintenance", "schedule", "schedule maintenance")
    CANCEL_MAINTENANCE = ("maintenance", "cancel", "cancel maintenance")

    def __init__(self, section: str, key: str, doing: str) -> None:
        self.section = section
        self.key = key
        self.doing = doing


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
        holder: Said = ("you hold",),
    ) -> NoReturn:
        """Deny: for not holding a role, or (fail closed) because the group that would grant it cannot be read."""
        unchecked = [name for name in needed if name in membership.unchecked]
        if unchecked:
            groups = dict.fromkeys(f"@{g}" for name in unchecked for g in self._catalog.roles[name].groups)
            raise errors.DeniedError(
                [
                    f"I cannot check {' or '.join(groups)} membership right now (Slack's user groups cannot be "
                    "read), so I cannot tell whether ",
                    *holder,
                    " role ",
                    *_either(unchecked),
                    ". Nothing was done; try again in a few minutes.",
                ],
                reason="groups_unavailable",
            )
        raise errors.DeniedError(refusal, reason=reason)

    async def _require(self, user_id: str, needed: Sequence[str], refusal: Said, reason: str = "role") -> Membership:
        membership = await self.membership(user_id)
        if not membership.roles & set(needed):
            self._refuse(membership, needed, refusal, reason)
        return membership

    def _who_may(self, roles: list[str]) -> Said:
        people: dict[errors.Part, None] = {}
        for name in roles:
            role = self._catalog.roles.get(name)
            if role is None:
                continue
            people.update(dict.fromkeys([errors.User(u) for u in role.users] + [f"@{g}" for g in role.groups]))
        shown: list[errors.Part] = []
        for person in people:
            shown += [", ", person] if shown else [person]
        return ["role ", *_either(roles), " (", *(shown or ["nobody yet"]), ")"]

    async def check_emergency(self, procedure: Procedure, user_id: str) -> None:
        """An emergency request is for break-glass members only, and only where a second person is the rule."""
        if procedure.approval != "two_person":
            raise errors.UserError(
                [errors.Code(procedure.name), " needs no second person; run it without --emergency."]
            )
        await self.check_role(user_id, BREAKGLASS_ROLE, ["run ", errors.Code(procedure.name), " as an emergency"])

    async def check_role(self, user_id: str, role: str, doing: str | Said) -> None:
        """Raise DeniedError unless the user holds `role` (built-in commands that are not procedures)."""
        doing = [doing] if isinstance(doing, str) else doing
        await self._require(user_id, [role], ["You may not ", *doing, ": it needs ", *self._who_may([role]), "."])

    async def check_comms(self, user_id: str, verb: Comms, *, lead: str | None = None, subject: str = "") -> None:
        """Raise DeniedError unless the catalog's `comms:` lets the user do this; the `lead` of the
        incident concerned may always update and resolve it."""
        if lead is not None and user_id == lead:
            return
        roles: list[str] = list(getattr(getattr(self._catalog.comms, verb.section), verb.key))
        refusal: Said = [f"You may not {verb.doing}{subject}: it needs ", *self._who_may(roles), "."]
        if lead is not None:
            refusal = [
                "Only the incident lead ",
                errors.User(lead),
                " or someone with ",
                *self._who_may(roles),
                f" may {verb.doing}{subject}.",
            ]
        await self._require(user_id, roles, refusal)

    async def check_lead(self, lead: str) -> None:
        """The person named as an incident's lead must hold a role: reminders go to someone who can act."""
        roles = list(self._catalog.comms.incident.lead)
        membership = await self.membership(lead)
        if not membership.roles & set(roles):
            refusal = [errors.User(lead), " cannot lead an incident: the lead needs ", *self._who_may(roles), "."]
            self._refuse(membership, roles, refusal, "lead_role", holder=[errors.User(lead), " holds"])

    def channel_allowed(self, procedure: Procedure, channel_id: str) -> bool:
        if not procedure.channels:
            return True
        return channel_id in {self._catalog.channels.resolve(c) for c in procedure.channels}

    async def check_request(self, procedure: Procedure, user_id: str, channel_id: str) -> None:
        """Raise DeniedError unless the user may start this procedure in this channel now."""
        name = errors.Code(procedure.name)
        await self._require(
            user_id, procedure.roles, ["You may not run ", name, ": it needs ", *self._who_may(procedure.roles), "."]
        )
        if not self.channel_allowed(procedure, channel_id):
            allowed: list[errors.Part] = []
            for c in procedure.channels:
                allowed += [", "] * bool(allowed) + [errors.Channel(self._catalog.channels.resolve(c))]
            raise errors.DeniedError([name, " may only be run in ", *allowed, "."], reason="channel")

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
                [
                    errors.User(requester),
                    f" has had {limit} changes confirmed in the last "
                    f"{self._rate_limit.window_seconds}s; confirm this one in {wait}s.",
                ],
                reason="rate_limit",
            )

    async def check_confirm(
        self, procedure: Procedure, *, requester: str, clicker: str, channel_id: str, emergency: bool = False
    ) -> str:
        """Raise DeniedError unless `clicker` may confirm; returns 'requester', 'approver' or, for an
        emergency request confirmed by its own requester in the breakglass role, 'breakglass'."""
        name = errors.Code(procedure.name)
        if not self.channel_allowed(procedure, channel_id):
            raise errors.DeniedError([name, " may not run in this channel."], reason="channel")
        membership = await self._require(
            clicker,
            procedure.roles,
            ["You may not confirm ", name, ": it needs ", *self._who_may(procedure.roles), "."],
        )
        roles = membership.roles
        if procedure.approval == "two_person":
            if clicker == requester and emergency and BREAKGLASS_ROLE in roles:
                return BREAKGLASS_ROLE
            if clicker == requester:
                raise errors.DeniedError(
                    [
                        name,
                        " needs a second person: someone with ",
                        *self._who_may([APPROVER_ROLE]),
                        " other than you must approve.",
                    ],
                    reason="same_approver",
                )
            if APPROVER_ROLE not in roles:
                self._refuse(
                    membership,
                    [APPROVER_ROLE],
                    ["Approving ", name, " needs ", *self._who_may([APPROVER_ROLE]), "."],
                    reason="approver_role",
                )
            return "approver"
        if clicker != requester and APPROVER_ROLE not in roles:
            self._refuse(
                membership,
                [APPROVER_ROLE],
                [
                    "Only ",
                    errors.User(requester),
                    " or someone with ",
                    *self._who_may([APPROVER_ROLE]),
                    " may confirm this.",
                ],
                reason="not_requester",
            )
        return "requester" if clicker == requester else "approver"
