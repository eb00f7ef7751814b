"""The domain on its own: engine and policy on the in-memory ports, a manual clock, and two
test actions that record what they were asked to do. No database, no Slack, no cluster."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from bot import errors
from bot.actions.registry import ActionContext, ActionRegistry, ActionResult, Change, FunctionAction
from bot.catalog import Catalog, Service, load_catalog
from bot.runbooks.engine import ROLLOUT_HISTORY, Engine, Invocation
from bot.runbooks.model import Procedure
from bot.runbooks.parser import ParsedCommand
from bot.runbooks.policy import Policy, RateLimit
from bot.values import ValueMask
from tests.conftest import CATALOG_PATH
from tests.domain.memory import ManualClock, MemoryExecutionStore, MemoryGroups, MemoryLocks, MemoryRateLimiter

# From chatops.yml: alice and bob are operators, bob is the only approver, carol only views.
ALICE, BOB, CAROL, DAVE = "U0ALICE", "U0BOB", "U0CAROL", "U0DAVE"
OPS, INCIDENTS, RANDOM = "C0OPS", "C0INCIDENTS", "C0RANDOM"


class ChangeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    replicas: int | None = None


@dataclass
class Target:
    """What the test actions were asked to do: real runs and dry runs, separately."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    dry_runs: list[dict[str, Any]] = field(default_factory=list)
    reads: int = 0
    read_services: list[str | None] = field(default_factory=list)
    gate: asyncio.Event | None = None  # when set, a real run waits for it (a change in progress)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    fail_with: Exception | None = None
    fail_dry_run_with: Exception | None = None  # the target refuses dry runs (e.g. the one at Confirm)
    before: str = "3"
    dry_run_data: dict[str, Any] = field(default_factory=dict)  # what a dry run reports it saw (pods, queries)
    expected: list[object] = field(default_factory=list)  # what each real run was told its dry run saw
    histories: list[tuple[str | None, Service | None, BaseModel]] = field(default_factory=list)  # rollouts read

    async def change(self, ctx: ActionContext, params: ChangeParams) -> ActionResult:
        record = {"service": ctx.service_name, "replicas": params.replicas}
        after = str(params.replicas)
        if ctx.dry_run:
            if self.fail_dry_run_with is not None:
                raise self.fail_dry_run_with
            self.dry_runs.append(record)
            return ActionResult(
                errors.Said("k8s_value_set", dry_run=True, target="replicas", value=after),
                changes=(Change("replicas", self.before, after),),
                data=dict(self.dry_run_data),
            )
        self.runs.append(record)
        self.expected.append(ctx.expected)
        self.started.set()
        await ctx.report_progress(
            errors.Said("k8s_rollout_updating", deployment=ctx.service_name, updated=0, desired=params.replicas)
        )
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return ActionResult(
            errors.Said("k8s_value_set", dry_run=False, target="replicas", value=after),
            changes=(Change("replicas", self.before, after),),
            details=f"{ctx.service_name}={after}",
        )

    async def history(self, ctx: ActionContext, params: BaseModel) -> ActionResult:
        self.histories.append((ctx.service_name, ctx.service, params))
        return ActionResult(
            errors.Said("k8s_history", revisions=1, current=1), details=f"revisions of {ctx.service_name}"
        )

    async def read(self, ctx: ActionContext, params: BaseModel) -> ActionResult:
        self.reads += 1
        self.read_services.append(ctx.service_name)
        return ActionResult(errors.Said("k8s_pods", pods=1, ready=1), details="line")


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


def procedure(name: str, **fields: Any) -> Procedure:
    base: dict[str, Any] = {
        "name": name,
        "summary": name,
        "params": [{"name": "service", "type": "service"}, {"name": "replicas", "type": "int", "required": False}],
        "roles": ["operator"],
        "channels": ["ops", "incidents"],
        "destructive": True,
        "steps": [{"action": "test.change", "args": {"replicas": "$replicas"}, "timeout_seconds": 30}],
    }
    return Procedure.model_validate({**base, **fields})


PROCEDURES = {
    "scale": procedure("scale"),
    "rollback": procedure("rollback", approval="two_person"),
    "anywhere": procedure("anywhere", channels=[]),
    "unlocked": procedure("unlocked", lock=False, confirm_timeout_minutes=1),
    "switch": procedure(
        "switch",
        params=[{"name": "mode", "type": "enum", "choices": ["on", "off"]}, {"name": "service", "type": "service"}],
        steps=[
            {"action": "test.change", "title": "on", "when": "mode=on", "args": {"replicas": 1}},
            {"action": "test.change", "title": "off", "when": "mode=off", "args": {"replicas": 0}},
        ],
    ),
    "two-steps": procedure(
        "two-steps",
        steps=[
            {"action": "test.change", "args": {"replicas": "$replicas"}, "timeout_seconds": 30},
            {"action": "test.read", "title": "check", "timeout_seconds": 30},
        ],
    ),
    "status": procedure(
        "status",
        roles=["viewer"],
        destructive=False,
        channels=[],
        params=[{"name": "service", "type": "service"}],
        steps=[{"action": "test.read"}],
    ),
}


@dataclass
class Domain:
    clock: ManualClock
    store: MemoryExecutionStore
    locks: MemoryLocks
    groups: MemoryGroups
    limiter: MemoryRateLimiter
    target: Target
    registry: ActionRegistry
    policy: Policy
    engine: Engine

    def command(self, name: str, service: str = "backend", **args: Any) -> ParsedCommand:
        return ParsedCommand(PROCEDURES[name], {"service": service, **args})

    @staticmethod
    def who(user: str, channel: str = OPS) -> Invocation:
        return Invocation(user_id=user, channel_id=channel)


async def no_progress(*_: object) -> None:
    return None


def make_domain(catalog: Catalog, *, rate_limit: RateLimit | None = None, heartbeat_seconds: float = 5.0) -> Domain:
    clock = ManualClock()
    store, locks, groups, limiter = (
        MemoryExecutionStore(clock),
        MemoryLocks(clock),
        MemoryGroups(),
        MemoryRateLimiter(clock),
    )
    target = Target()
    registry = ActionRegistry(
        [
            FunctionAction("test.change", ChangeParams, True, target.change, target="kubernetes"),
            FunctionAction("test.read", NoParams, False, target.read, target="kubernetes"),
            FunctionAction(ROLLOUT_HISTORY, NoParams, False, target.history, target="kubernetes"),
        ]
    )
    policy = Policy(catalog, groups, limiter, rate_limit or RateLimit())
    engine = Engine(
        catalog=catalog,
        procedures=PROCEDURES,
        registry=registry,
        policy=policy,
        store=store,
        locks=locks,
        clock=clock,
        replica_id="replica-1",
        heartbeat_seconds=heartbeat_seconds,
        mask=ValueMask.of(catalog.shown_values, b"test key"),
    )
    return Domain(clock, store, locks, groups, limiter, target, registry, policy, engine)


@functools.cache
def _chatops_catalog() -> Catalog:
    return load_catalog(CATALOG_PATH)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """chatops.yml, parsed once per process (the suite's fixture parses it once per session): the
    mutation run starts a pytest session per mutant in a process forked after the catalog was parsed."""
    return _chatops_catalog()


@pytest.fixture
def domain(catalog: Catalog) -> Domain:
    return make_domain(catalog)
