"""What a refusal or a failure is said with: the data its phrase shows (what was refused, on which
incident, the limit and its window, the dependency that failed and why). A phrase given no value for
a field it uses would still read as a sentence, so these assert the fields and the names shown, never
the words around them."""

from __future__ import annotations

import pytest

from bot import errors
from bot.catalog import Catalog
from bot.runbooks.locking import BusyError
from bot.runbooks.policy import Comms, RateLimit
from tests.domain import said
from tests.domain.conftest import ALICE, BOB, CAROL, DAVE, OPS, PROCEDURES, Domain, make_domain, no_progress
from tests.domain.test_engine import BACKEND_LOCK, pending

SCALE, ROLLBACK = PROCEDURES["scale"], PROCEDURES["rollback"]


def _doing(denied: errors.DeniedError) -> errors.Said:
    doing = denied.said.fields["doing"]
    assert isinstance(doing, errors.Said)
    return doing


async def test_a_comms_refusal_on_an_incident_says_what_was_refused_and_the_incident(domain: Domain) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_comms(CAROL, Comms.UPDATE_INCIDENT, incident=7)

    assert _doing(denied.value).fields == {"doing": Comms.UPDATE_INCIDENT.doing, "incident": 7}
    assert {ALICE, BOB} <= said.users(denied.value)  # and it can be said: who may do it instead


async def test_a_comms_refusal_beside_a_lead_says_what_was_refused_and_the_incident(domain: Domain) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_comms(CAROL, Comms.RESOLVE_INCIDENT, lead=DAVE, incident=7)

    assert _doing(denied.value).fields == {"doing": Comms.RESOLVE_INCIDENT.doing, "incident": 7}


async def test_a_comms_refusal_on_no_incident_names_none(domain: Domain) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_comms(CAROL, Comms.SCHEDULE_MAINTENANCE)

    assert _doing(denied.value) == Comms.SCHEDULE_MAINTENANCE.doing


async def test_a_confirm_refused_for_the_role_names_the_procedure(domain: Domain) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_confirm(SCALE, requester=ALICE, clicker=CAROL, channel_id=OPS)

    assert denied.value.reason == "role"
    assert "scale" in said.quoted(denied.value)


async def test_a_requester_confirming_their_own_two_person_request_is_told_the_procedure_and_who_may(
    domain: Domain,
) -> None:
    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_confirm(ROLLBACK, requester=ALICE, clicker=ALICE, channel_id=OPS)

    assert denied.value.reason == "same_approver"
    assert {"rollback", "approver"} <= said.quoted(denied.value)
    assert "sre-leads" in said.groups(denied.value)  # who may approve instead


async def test_a_second_operator_without_the_approver_role_is_told_the_procedure_and_who_may(domain: Domain) -> None:
    domain.groups.groups[DAVE] = frozenset({"sre-oncall"})  # operator through a group, not an approver

    with pytest.raises(errors.DeniedError) as denied:
        await domain.policy.check_confirm(ROLLBACK, requester=ALICE, clicker=DAVE, channel_id=OPS)

    assert denied.value.reason == "approver_role"
    assert {"rollback", "approver"} <= said.quoted(denied.value)
    assert "sre-leads" in said.groups(denied.value)


async def test_a_rate_limited_change_is_said_with_the_limit_and_its_window(catalog: Catalog) -> None:
    limited = make_domain(catalog, rate_limit=RateLimit(destructive_per_window=2, window_seconds=90))
    for n in range(2):
        await limited.policy.check_change_rate(ALICE, f"change-{n}")

    with pytest.raises(errors.DeniedError) as denied:
        await limited.policy.check_change_rate(ALICE, "change-2")

    assert denied.value.reason == "rate_limit"
    assert (denied.value.said.fields["limit"], denied.value.said.fields["window"]) == (2, 90)


async def test_a_busy_target_tells_the_requester_and_the_clicker_what_to_do_next(domain: Domain) -> None:
    execution = await pending(domain)
    domain.locks.take(BACKEND_LOCK, owner=DAVE)

    with pytest.raises(BusyError) as at_request:
        await domain.engine.request(domain.command("scale", replicas=7), domain.who(ALICE))
    with pytest.raises(BusyError) as at_confirm:
        await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    next_at_request, next_at_confirm = at_request.value.said.fields["then"], at_confirm.value.said.fields["then"]
    assert isinstance(next_at_request, errors.Said)
    assert isinstance(next_at_confirm, errors.Said)
    assert next_at_request != next_at_confirm  # try again, or click Confirm again


async def test_locks_unavailable_at_confirm_record_and_say_which_dependency_failed_and_why(domain: Domain) -> None:
    execution = await pending(domain)
    domain.locks.available = False

    with pytest.raises(errors.UnavailableError) as unavailable:
        await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    detail = unavailable.value.said_detail
    assert isinstance(detail, errors.Said)
    assert detail.fields == {"detail": "connection refused"}  # and that nothing was changed
    stored = await domain.store.get(execution.id)
    assert stored is not None
    assert stored.error is not None
    assert "Redis" in stored.error
    assert "connection refused" in stored.error


async def test_a_run_stopped_by_an_unavailable_store_records_which_and_why(domain: Domain) -> None:
    execution = await pending(domain)
    domain.store.down_for.add("record_step")

    final = await domain.engine.confirm(execution.id, ALICE, OPS, no_progress)

    assert final.error is not None
    assert "PostgreSQL" in final.error
    assert "connection refused" in final.error
