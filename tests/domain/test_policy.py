"""Policy on in-memory ports: roles (by id and by group), channels, the per-user rate limit."""

from __future__ import annotations

import pytest

from bot import errors
from bot.catalog import Catalog
from bot.runbooks.engine import PendingOutcome
from bot.runbooks.policy import RateLimit
from tests.domain.conftest import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    INCIDENTS,
    OPS,
    PROCEDURES,
    RANDOM,
    Domain,
    make_domain,
    procedure,
)

SCALE, ROLLBACK, ANYWHERE = PROCEDURES["scale"], PROCEDURES["rollback"], PROCEDURES["anywhere"]


@pytest.fixture
def limited(catalog: Catalog) -> Domain:
    return make_domain(catalog, rate_limit=RateLimit(destructive_per_window=3, window_seconds=60))


async def test_roles_come_from_user_ids_and_from_groups(domain: Domain) -> None:
    domain.groups.groups[DAVE] = frozenset({"sre-oncall", "engineering"})

    assert await domain.policy.roles_of(CAROL) == {"viewer"}
    assert await domain.policy.roles_of(DAVE) == {"operator", "viewer"}
    assert await domain.policy.roles_of("U0NOBODY") == frozenset()
    assert await domain.policy.may_run(SCALE, DAVE)
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_request(SCALE, CAROL, OPS)
    assert "`operator`" in denied.value.message
    assert not await domain.policy.may_run(SCALE, CAROL)


async def test_a_user_named_in_every_role_is_not_looked_up_in_groups(domain: Domain) -> None:
    assert await domain.policy.roles_of(BOB) == {"viewer", "operator", "approver", "incident"}
    assert domain.groups.lookups == []
    await domain.policy.roles_of(CAROL)
    assert domain.groups.lookups == [CAROL]


async def test_check_role_refuses_a_user_without_the_role(domain: Domain) -> None:
    await domain.policy.check_role(CAROL, "viewer", "read the status")

    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_role(DAVE, "viewer", "read the status")
    assert denied.value.reason == "role"


@pytest.mark.parametrize(("channel", "allowed"), [(OPS, True), (INCIDENTS, True), (RANDOM, False)])
def test_channels_are_resolved_from_their_logical_names(domain: Domain, channel: str, allowed: bool) -> None:
    assert domain.policy.channel_allowed(SCALE, channel) is allowed
    assert domain.policy.channel_allowed(ANYWHERE, channel) is True


def test_channels_may_be_named_by_id(domain: Domain) -> None:
    by_id = procedure("by-id", channels=[RANDOM])

    assert domain.policy.channel_allowed(by_id, RANDOM)
    assert not domain.policy.channel_allowed(by_id, OPS)


async def test_confirm_outside_the_procedures_channels_is_refused(domain: Domain) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_confirm(SCALE, requester=ALICE, clicker=ALICE, channel_id=RANDOM)

    assert denied.value.reason == "channel"
    assert "`scale`" in denied.value.message


async def test_check_confirm_names_the_role_the_click_counts_as(domain: Domain) -> None:
    policy = domain.policy
    assert await policy.check_confirm(SCALE, requester=ALICE, clicker=ALICE, channel_id=OPS) == "requester"
    assert await policy.check_confirm(SCALE, requester=ALICE, clicker=BOB, channel_id=OPS) == "approver"
    assert await policy.check_confirm(ROLLBACK, requester=ALICE, clicker=BOB, channel_id=OPS) == "approver"


async def test_check_request_refuses_the_wrong_channel_even_for_an_approver(domain: Domain) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_request(SCALE, BOB, RANDOM)

    assert denied.value.reason == "channel"
    assert "<#C0OPS>" in denied.value.message  # where it may run instead
    assert "<#C0INCIDENTS>" in denied.value.message


# ---- the per-user rate limit on change requests ---------------------------------------------------


async def test_change_requests_over_the_limit_are_refused_and_create_nothing(limited: Domain) -> None:
    for service in ("backend", "frontend", "email-dashboard"):
        outcome = await limited.engine.request(limited.command("scale", service, replicas=3), limited.who(ALICE))
        assert isinstance(outcome, PendingOutcome)

    limited.clock.advance(seconds=20)
    with pytest.raises(errors.DeniedError) as denied:
        await limited.engine.request(limited.command("scale", "email-triage", replicas=3), limited.who(ALICE))

    assert denied.value.reason == "rate_limit"
    assert "40s" in denied.value.message  # how long to wait: what is left of the window
    assert len(limited.store.executions) == 3
    assert len(limited.target.dry_runs) == 3


async def test_the_rate_limit_is_per_user(limited: Domain) -> None:
    for _ in range(3):
        await limited.policy.check_request(SCALE, ALICE, OPS)

    await limited.policy.check_request(SCALE, BOB, OPS)
    with pytest.raises(errors.DeniedError):
        await limited.policy.check_request(SCALE, ALICE, OPS)


async def test_the_rate_limit_window_passes_on_the_clock(limited: Domain) -> None:
    for _ in range(3):
        await limited.policy.check_request(SCALE, ALICE, OPS)
    limited.clock.advance(seconds=59)
    with pytest.raises(errors.DeniedError):
        await limited.policy.check_request(SCALE, ALICE, OPS)

    limited.clock.advance(seconds=1)
    await limited.policy.check_request(SCALE, ALICE, OPS)


async def test_read_only_requests_do_not_count_against_the_limit(limited: Domain) -> None:
    for _ in range(10):
        await limited.policy.check_request(PROCEDURES["status"], ALICE, RANDOM)

    for _ in range(3):
        await limited.policy.check_request(SCALE, ALICE, OPS)


async def test_refused_requests_do_not_use_up_the_limit(limited: Domain) -> None:
    for _ in range(5):
        with pytest.raises(errors.DeniedError):
            await limited.policy.check_request(SCALE, ALICE, RANDOM)  # wrong channel

    for _ in range(3):
        await limited.policy.check_request(SCALE, ALICE, OPS)


async def test_the_default_limit_is_ten_changes_a_minute(domain: Domain) -> None:
    for _ in range(10):
        await domain.policy.check_request(SCALE, ALICE, OPS)

    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_request(SCALE, ALICE, OPS)
    assert denied.value.reason == "rate_limit"


async def test_the_default_window_is_a_minute(domain: Domain) -> None:
    for _ in range(10):
        await domain.policy.check_request(SCALE, ALICE, OPS)
    domain.clock.advance(seconds=59)
    with pytest.raises(errors.DeniedError):
        await domain.policy.check_request(SCALE, ALICE, OPS)

    domain.clock.advance(seconds=1)
    await domain.policy.check_request(SCALE, ALICE, OPS)


async def test_a_refusal_names_the_roles_needed_and_everyone_who_holds_them(domain: Domain) -> None:
    """Who to ask is data the refused user needs: every member (ids and groups) of every role that would do."""
    two_roles = procedure("two-roles", roles=["approver", "incident"], channels=[])

    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_request(two_roles, CAROL, OPS)

    for who in ("`approver`", "`incident`", "<@U0BOB>", "<@U0ALICE>", "@sre-leads", "@incident-commanders"):
        assert who in denied.value.message
    assert denied.value.message.count("<@U0BOB>") == 1  # named once, though in both roles


async def test_a_refusal_naming_an_unknown_or_empty_role_still_answers(domain: Domain) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_role(DAVE, "auditor", "read the audit log")

    assert "`auditor`" in denied.value.message
    assert "<@" not in denied.value.message


async def test_check_role_names_the_role_needed(domain: Domain) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_role(DAVE, "viewer", "read the status")

    assert "`viewer`" in denied.value.message
    assert "<@U0CAROL>" in denied.value.message


async def test_a_role_missing_from_the_catalog_does_not_hide_the_others(domain: Domain) -> None:
    odd = procedure("odd", roles=["auditor", "operator"], channels=[])

    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_request(odd, CAROL, OPS)

    assert "<@U0ALICE>" in denied.value.message


async def test_only_an_emergency_lets_a_breakglass_member_confirm_their_own_two_person_request(
    domain: Domain,
) -> None:
    policy = domain.policy
    with pytest.raises(errors.DeniedError, match="second person"):
        await policy.check_confirm(ROLLBACK, requester=ALICE, clicker=ALICE, channel_id=OPS)
    assert (
        await policy.check_confirm(ROLLBACK, requester=ALICE, clicker=ALICE, channel_id=OPS, emergency=True)
        == "breakglass"
    )
    with pytest.raises(errors.DeniedError, match="second person"):  # BOB approves, but is not in breakglass
        await policy.check_confirm(ROLLBACK, requester=BOB, clicker=BOB, channel_id=OPS, emergency=True)
    await policy.check_emergency(ROLLBACK, ALICE)
    with pytest.raises(errors.DeniedError, match="breakglass"):
        await policy.check_emergency(ROLLBACK, BOB)
    with pytest.raises(errors.UserError, match="no second person"):
        await policy.check_emergency(SCALE, ALICE)
