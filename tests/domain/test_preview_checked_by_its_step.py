"""Issue 20: a confirmation repeats its preview's dry runs, except when the procedure's one change is made
by an action that compares what it reads with the preview itself, just before it writes (`checks_preview`)."""

from __future__ import annotations

from dataclasses import replace

from bot.actions.registry import ActionRegistry, FunctionAction
from bot.catalog import Catalog
from bot.runbooks.engine import Engine, PendingOutcome
from bot.runbooks.executions import State
from bot.values import ValueMask
from tests.domain.conftest import ALICE, OPS, PROCEDURES, Domain, make_domain, no_progress


def _checking_its_preview(catalog: Catalog) -> Domain:
    """The domain's world, with `test.change` declaring that it checks the preview itself."""
    domain = make_domain(catalog)
    change = domain.registry.get("test.change")
    assert isinstance(change, FunctionAction)
    registry = ActionRegistry([replace(change, checks_preview=True), domain.registry.get("test.read")])
    engine = Engine(
        catalog=catalog,
        procedures=PROCEDURES,
        registry=registry,
        policy=domain.policy,
        store=domain.store,
        locks=domain.locks,
        clock=domain.clock,
        replica_id="replica-1",
        heartbeat_seconds=5.0,
        mask=ValueMask.of(catalog.shown_values, b"test key"),
    )
    return replace(domain, registry=registry, engine=engine)


async def _confirmed(domain: Domain, name: str, **args: object) -> State:
    outcome = await domain.engine.request(domain.command(name, **args), domain.who(ALICE))
    assert isinstance(outcome, PendingOutcome)
    final = await domain.engine.confirm(outcome.execution.id, ALICE, OPS, no_progress)
    return final.state


async def test_a_lone_change_that_checks_its_preview_is_not_dry_run_again(catalog: Catalog) -> None:
    domain = _checking_its_preview(catalog)
    assert await _confirmed(domain, "two-steps", replicas=5) == State.SUCCEEDED
    assert domain.target.dry_runs == [{"service": "backend", "replicas": 5}], "the preview's only"
    assert domain.target.runs == [{"service": "backend", "replicas": 5}]


async def test_other_changes_are_dry_run_again_at_confirmation(catalog: Catalog) -> None:
    domain = make_domain(catalog)
    assert await _confirmed(domain, "two-steps", replicas=5) == State.SUCCEEDED
    assert domain.target.dry_runs == [{"service": "backend", "replicas": 5}] * 2, "preview, then confirmation"
    assert domain.target.runs == [{"service": "backend", "replicas": 5}]
