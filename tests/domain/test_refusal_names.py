"""Who and what a refusal names, as data: the person who may act instead, the procedure refused, and
every name kept apart from the next. The refused user acts on these; the sentences around them are
the chat surface's wording and are not asserted."""

from __future__ import annotations

import pytest

from bot import errors
from bot.runbooks.engine import PendingOutcome
from bot.runbooks.executions import State
from tests.domain import said
from tests.domain.conftest import ALICE, BOB, CAROL, DAVE, OPS, PROCEDURES, RANDOM, Domain, procedure

SCALE = PROCEDURES["scale"]


async def test_another_operator_refused_a_one_person_confirm_is_told_the_requester(domain: Domain) -> None:
    """ALICE requested and holds no approver role: the refusal is the only place DAVE learns she may confirm."""
    domain.groups.groups[DAVE] = frozenset({"sre-oncall"})  # operator, not approver

    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_confirm(SCALE, requester=ALICE, clicker=DAVE, channel_id=OPS)

    assert denied.value.reason == "not_requester"
    assert said.users(denied.value) == {ALICE, BOB}  # the requester, and the approver role's member


@pytest.mark.parametrize(("user", "channel", "reason"), [(CAROL, OPS, "role"), (BOB, RANDOM, "channel")])
async def test_a_refused_request_names_the_procedure(domain: Domain, user: str, channel: str, reason: str) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_request(SCALE, user, channel)

    assert denied.value.reason == reason
    assert "scale" in said.quoted(denied.value)


async def test_a_refused_cancel_names_the_requester_and_the_procedure(domain: Domain) -> None:
    outcome = await domain.engine.request(domain.command("scale", replicas=5), domain.who(ALICE))
    assert isinstance(outcome, PendingOutcome)

    with pytest.raises(errors.DeniedError) as denied:
        await domain.engine.cancel(outcome.execution.id, CAROL, OPS)

    assert denied.value.reason == "cancel"
    assert said.users(denied.value) == {ALICE}
    assert said.quoted(denied.value) == {"scale"}
    assert (await domain.engine.load(outcome.execution.id))[0].state == State.PENDING


async def test_the_roles_people_and_channels_a_refusal_lists_stand_apart(domain: Domain) -> None:
    two_roles = procedure("two-roles", roles=["approver", "incident"], channels=[])
    with pytest.raises(errors.DeniedError) as roles:
        await domain.policy.check_request(two_roles, CAROL, OPS)
    with pytest.raises(errors.DeniedError) as people:
        await domain.policy.check_request(SCALE, CAROL, OPS)
    with pytest.raises(errors.DeniedError) as channels:
        await domain.policy.check_request(SCALE, BOB, RANDOM)

    assert {"approver", "incident"} <= said.quoted(roles.value)
    assert said.users(people.value) == {ALICE, BOB}
    assert said.channels(channels.value) == {"C0OPS", "C0INCIDENTS"}
    for refusal in (roles, people, channels):
        assert said.run_together(refusal.value) == []
