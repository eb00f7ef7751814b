"""Policy on in-memory ports: roles (by id and by group), channels, the per-user rate limit."""

from __future__ import annotations

import pytest

from bot import errors
from bot.catalog import Catalog
from bot.runbooks.engine import PendingOutcome
from bot.runbooks.executions import State
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
    no_progress,
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
    assert errors.Channel("C0OPS") in denied.value.parts  # where it may run instead
    assert errors.Channel("C0INCIDENTS") in denied.value.parts


# ---- the per-user limit on confirmed changes ------------------------------------------------------


async def test_confirmed_changes_over_the_limit_are_refused_and_run_nothing(limited: Domain) -> None:
    requests = []
    for service in ("backend", "frontend", "email-dashboard", "email-triage"):
        outcome = await limited.engine.request(limited.command("scale", service, replicas=5), limited.who(ALICE))
        assert isinstance(outcome, PendingOutcome)  # previews never count
        requests.append(outcome.execution)
    for execution in requests[:3]:
        await limited.engine.confirm(execution.id, ALICE, OPS, no_progress)

    limited.clock.advance(seconds=20)
    with pytest.raises(errors.DeniedError) as denied:
        await limited.engine.confirm(requests[3].id, ALICE, OPS, no_progress)

    assert denied.value.reason == "rate_limit"
    assert "40s" in denied.value.message  # how long to wait: until the oldest change leaves the window
    assert len(limited.target.runs) == 3
    assert (await limited.engine.load(requests[3].id))[0].state == State.PENDING  # confirmable later
    refusal = limited.store.audit_log[-1]
    assert (refusal.kind, refusal.actor, refusal.detail) == ("denied", ALICE, {"reason": "rate_limit", "at": "confirm"})


async def test_the_rate_limit_is_per_requester(limited: Domain) -> None:
    for n in range(3):
        await limited.policy.check_change_rate(ALICE, f"change-{n}")

    await limited.policy.check_change_rate(BOB, "change-of-bob")
    with pytest.raises(errors.DeniedError):
        await limited.policy.check_change_rate(ALICE, "change-3")


async def test_a_change_confirmed_again_counts_once(limited: Domain) -> None:
    for _ in range(5):  # clicked again after a busy target, a retry, another replica
        await limited.policy.check_change_rate(ALICE, "change-0")

    await limited.policy.check_change_rate(ALICE, "change-1")
    await limited.policy.check_change_rate(ALICE, "change-2")
    with pytest.raises(errors.DeniedError):
        await limited.policy.check_change_rate(ALICE, "change-3")


async def test_the_rate_limit_window_passes_on_the_clock(limited: Domain) -> None:
    for n in range(3):
        await limited.policy.check_change_rate(ALICE, f"change-{n}")
    limited.clock.advance(seconds=59)
    with pytest.raises(errors.DeniedError):
        await limited.policy.check_change_rate(ALICE, "change-3")

    limited.clock.advance(seconds=1)
    await limited.policy.check_change_rate(ALICE, "change-3")


async def test_read_only_requests_and_previews_do_not_count_against_the_limit(limited: Domain) -> None:
    for _ in range(10):
        await limited.engine.request(limited.command("status"), limited.who(ALICE, RANDOM))
    for replicas in (4, 5, 6, 7, 8):
        await limited.engine.request(limited.command("scale", replicas=replicas), limited.who(ALICE))

    for n in range(3):
        await limited.policy.check_change_rate(ALICE, f"change-{n}")


async def test_refused_requests_and_refused_changes_do_not_use_up_the_limit(limited: Domain) -> None:
    for _ in range(5):
        with pytest.raises(errors.DeniedError):
            await limited.policy.check_request(SCALE, ALICE, RANDOM)  # wrong channel
    for n in range(3):
        await limited.policy.check_change_rate(ALICE, f"change-{n}")
    limited.clock.advance(seconds=30)
    with pytest.raises(errors.DeniedError):
        await limited.policy.check_change_rate(ALICE, "refused")

    limited.clock.advance(seconds=30)  # the first three leave the window; the refused one was never in it
    for n in range(3, 6):
        await limited.policy.check_change_rate(ALICE, f"change-{n}")


async def test_the_default_limit_is_ten_changes_a_minute(domain: Domain) -> None:
    for n in range(10):
        await domain.policy.check_change_rate(ALICE, f"change-{n}")

    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_change_rate(ALICE, "change-10")
    assert denied.value.reason == "rate_limit"


async def test_the_default_window_is_a_minute(domain: Domain) -> None:
    for n in range(10):
        await domain.policy.check_change_rate(ALICE, f"change-{n}")
    domain.clock.advance(seconds=59)
    with pytest.raises(errors.DeniedError):
        await domain.policy.check_change_rate(ALICE, "change-10")

    domain.clock.advance(seconds=1)
    await domain.policy.check_change_rate(ALICE, "change-10")


async def test_a_refusal_names_the_roles_needed_and_everyone_who_holds_them(domain: Domain) -> None:
    """Who to ask is data the refused user needs: every member (ids and groups) of every role that would do."""
    two_roles = procedure("two-roles", roles=["approver", "incident"], channels=[])

    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_request(two_roles, CAROL, OPS)

    for role in ("`approver`", "`incident`", "@sre-leads", "@incident-commanders"):
        assert role in denied.value.message
    assert errors.User("U0ALICE") in denied.value.parts
    assert denied.value.parts.count(errors.User("U0BOB")) == 1  # named once, though in both roles


async def test_a_refusal_naming_an_unknown_or_empty_role_still_answers(domain: Domain) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_role(DAVE, "auditor", "read the audit log")

    assert "`auditor`" in denied.value.message
    assert not any(isinstance(part, errors.User) for part in denied.value.parts)


async def test_check_role_names_the_role_needed(domain: Domain) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_role(DAVE, "viewer", "read the status")

    assert "`viewer`" in denied.value.message
    assert errors.User("U0CAROL") in denied.value.parts


async def test_a_role_missing_from_the_catalog_does_not_hide_the_others(domain: Domain) -> None:
    odd = procedure("odd", roles=["auditor", "operator"], channels=[])

    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_request(odd, CAROL, OPS)

    assert errors.User("U0ALICE") in denied.value.parts


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
