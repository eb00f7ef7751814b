"""Policy beyond procedures: the `comms:` verbs, incident leads, Slack groups that cannot be read,
per-role change limits and break-glass. Asserts decisions, denial reasons and who or what a refusal
names, never its sentences."""

from __future__ import annotations

import pytest

from bot import errors
from bot.catalog import Catalog, Role
from bot.runbooks.policy import Comms
from tests.domain import said
from tests.domain.conftest import ALICE, BOB, CAROL, DAVE, OPS, PROCEDURES, Domain, make_domain

SCALE, ROLLBACK = PROCEDURES["scale"], PROCEDURES["rollback"]
# From chatops.yml's comms: reading and declaring need `viewer`; updating and resolving `incident`;
# scheduling and cancelling maintenance `operator` or `incident`.
VIEWER_VERBS = [Comms.READ_INCIDENTS, Comms.DECLARE_INCIDENT, Comms.READ_MAINTENANCE]
INCIDENT_VERBS = [Comms.UPDATE_INCIDENT, Comms.RESOLVE_INCIDENT]
MAINTENANCE_VERBS = [Comms.SCHEDULE_MAINTENANCE, Comms.CANCEL_MAINTENANCE]


@pytest.mark.parametrize("verb", VIEWER_VERBS)
async def test_a_viewer_may_read_and_declare(domain: Domain, verb: Comms) -> None:
    await domain.policy.check_comms(CAROL, verb)


@pytest.mark.parametrize("verb", INCIDENT_VERBS + MAINTENANCE_VERBS)
async def test_a_viewer_may_not_change_incidents_or_maintenance(domain: Domain, verb: Comms) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_comms(CAROL, verb)

    assert denied.value.reason == "role"


@pytest.mark.parametrize("verb", MAINTENANCE_VERBS)
async def test_an_operator_through_a_group_may_schedule_and_cancel_maintenance(domain: Domain, verb: Comms) -> None:
    domain.groups.groups[DAVE] = frozenset({"sre-oncall"})

    await domain.policy.check_comms(DAVE, verb)
    with pytest.raises(errors.DeniedError):  # but is no incident responder
        await domain.policy.check_comms(DAVE, Comms.UPDATE_INCIDENT)


@pytest.mark.parametrize(
    ("verb", "roles"),
    [
        (Comms.DECLARE_INCIDENT, {"viewer"}),
        (Comms.UPDATE_INCIDENT, {"incident"}),
        (Comms.SCHEDULE_MAINTENANCE, {"operator", "incident"}),
    ],
)
async def test_a_comms_refusal_names_the_roles_of_that_verb(domain: Domain, verb: Comms, roles: set[str]) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_comms(DAVE, verb)

    assert said.quoted(denied.value) == roles


@pytest.mark.parametrize("verb", INCIDENT_VERBS)
async def test_the_incident_lead_may_update_and_resolve_without_any_role(domain: Domain, verb: Comms) -> None:
    await domain.policy.check_comms(DAVE, verb, lead=DAVE)

    assert domain.groups.lookups == []  # the lead is let through before any role is looked up


async def test_someone_else_than_the_lead_needs_the_role(domain: Domain) -> None:
    await domain.policy.check_comms(BOB, Comms.UPDATE_INCIDENT, lead=DAVE)
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_comms(CAROL, Comms.UPDATE_INCIDENT, lead=DAVE)

    assert denied.value.reason == "role"
    assert DAVE in said.users(denied.value)  # the lead, who may do it, is named
    assert {ALICE, BOB} <= said.users(denied.value)  # and the members of `incident`
    assert CAROL not in said.users(denied.value)


async def test_without_a_lead_nobody_is_named_as_lead(domain: Domain) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_comms(DAVE, Comms.UPDATE_INCIDENT)

    assert said.users(denied.value) == {ALICE, BOB}
    assert said.groups(denied.value) >= {"incident-commanders"}


async def test_a_lead_must_hold_a_lead_role(domain: Domain) -> None:
    await domain.policy.check_lead(CAROL)  # viewer
    await domain.policy.check_lead(BOB)
    domain.groups.groups[DAVE] = frozenset({"incident-commanders"})
    await domain.policy.check_lead(DAVE)

    domain.groups.groups[DAVE] = frozenset()
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_lead(DAVE)
    assert denied.value.reason == "lead_role"
    assert DAVE in said.users(denied.value)  # who cannot lead
    assert said.quoted(denied.value) == {"viewer", "incident"}


# ---- Slack's user groups cannot be read: roles held through a group fail closed --------------------


async def test_roles_named_directly_do_not_depend_on_slack(domain: Domain) -> None:
    domain.groups.available = False

    assert await domain.policy.roles_of(BOB) == {"viewer", "operator", "approver", "incident"}
    assert await domain.policy.roles_of(CAROL) == {"viewer"}
    await domain.policy.check_comms(CAROL, Comms.DECLARE_INCIDENT)
    await domain.policy.check_request(SCALE, ALICE, OPS)


async def test_a_role_only_a_group_could_grant_is_refused_as_unknown_not_as_missing(domain: Domain) -> None:
    domain.groups.groups[DAVE] = frozenset({"sre-oncall"})
    domain.groups.available = False

    membership = await domain.policy.membership(DAVE)
    assert membership.roles == frozenset()
    assert membership.unchecked == {"viewer", "operator", "approver", "incident"}
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_comms(DAVE, Comms.SCHEDULE_MAINTENANCE)

    assert denied.value.reason == "groups_unavailable"
    assert said.groups(denied.value) == {"sre-oncall", "incident-commanders"}  # the groups it could not read
    assert said.quoted(denied.value) == {"operator", "incident"}


async def test_a_lead_whose_groups_cannot_be_read_is_refused_naming_them(domain: Domain) -> None:
    domain.groups.available = False

    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_lead(DAVE)

    assert denied.value.reason == "groups_unavailable"
    assert said.users(denied.value) == {DAVE}  # whose roles could not be told


async def test_an_approver_role_that_cannot_be_read_is_refused_as_unknown(domain: Domain) -> None:
    domain.groups.groups[DAVE] = frozenset({"sre-oncall", "sre-leads"})
    domain.groups.available = False

    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_confirm(SCALE, requester=ALICE, clicker=DAVE, channel_id=OPS)

    assert denied.value.reason == "groups_unavailable"


async def test_a_user_in_no_group_is_not_refused_for_groups_when_slack_answers(domain: Domain) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_comms(DAVE, Comms.SCHEDULE_MAINTENANCE)

    assert denied.value.reason == "role"


# ---- per-role change limits ----------------------------------------------------------------------


def with_limits(catalog: Catalog, **limits: int) -> Catalog:
    roles = {
        name: Role(users=role.users, groups=role.groups, changes_per_minute=limits.get(name, role.changes_per_minute))
        for name, role in catalog.roles.items()
    }
    return catalog.model_copy(update={"roles": roles})


async def test_a_role_sets_its_members_change_limit(catalog: Catalog) -> None:
    domain = make_domain(with_limits(catalog, operator=2))
    for n in range(2):
        await domain.policy.check_change_rate(ALICE, f"change-{n}")

    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_change_rate(ALICE, "change-2")
    assert denied.value.reason == "rate_limit"
    assert said.users(denied.value) == {ALICE}  # whose limit it is


async def test_the_highest_limit_of_the_requesters_roles_wins(catalog: Catalog) -> None:
    domain = make_domain(with_limits(catalog, viewer=2, operator=3, incident=1))
    for n in range(3):
        await domain.policy.check_change_rate(ALICE, f"change-{n}")

    with pytest.raises(errors.DeniedError):
        await domain.policy.check_change_rate(ALICE, "change-3")
    for n in range(2):  # CAROL only views: the viewer limit
        await domain.policy.check_change_rate(CAROL, f"change-{n}")
    with pytest.raises(errors.DeniedError):
        await domain.policy.check_change_rate(CAROL, "change-2")


async def test_a_role_without_a_limit_leaves_the_default(catalog: Catalog) -> None:
    domain = make_domain(with_limits(catalog, approver=12))
    for n in range(10):
        await domain.policy.check_change_rate(ALICE, f"change-{n}")

    with pytest.raises(errors.DeniedError):
        await domain.policy.check_change_rate(ALICE, "change-10")
    for n in range(12):  # BOB approves: his role's limit is higher than the default
        await domain.policy.check_change_rate(BOB, f"change-{n}")


# ---- break-glass ---------------------------------------------------------------------------------


async def test_an_emergency_by_someone_outside_breakglass_is_refused_naming_the_procedure(domain: Domain) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_emergency(ROLLBACK, BOB)

    assert denied.value.reason == "role"
    assert "rollback" in said.quoted(denied.value)
    assert "breakglass" in said.quoted(denied.value)
    assert said.users(denied.value) == {ALICE}  # who may


async def test_an_emergency_needs_a_two_person_procedure(domain: Domain) -> None:
    with pytest.raises(errors.UserError) as refused:
        await domain.policy.check_emergency(SCALE, ALICE)

    assert not isinstance(refused.value, errors.DeniedError)
    assert "scale" in said.quoted(refused.value)
