"""Actions: typed operations on target systems, registered by name (`kubernetes.scale`).

Procedures (YAML) name an action and give it arguments; the registry validates those
arguments against the action's pydantic model at load time, so a typo in a runbook
is a config error, not a 3 a.m. surprise. Action modules (one per target system)
are built at the composition root with their client and handed to the registry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from bot import errors
from bot.catalog import Service
from bot.catalog_targets import Target, TargetKind

ProgressReporter = Callable[[errors.Said], Awaitable[None]]
"""Told each progress line of a running step: a phrase of the book said with data fields, never a
sentence (the engine passes it on to the surface showing the run)."""


async def _no_progress(_: errors.Said) -> None:
    return None


@dataclass(frozen=True)
class ActionContext:
    """What an action knows about the run it is part of."""

    service_name: str | None
    service: Service | None
    dry_run: bool = False
    timeout_seconds: float = 60.0
    report_progress: ProgressReporter = _no_progress
    # In a confirmed run: the `data` this step's dry run returned for the preview. An action whose
    # targets can come and go (queries, pods) acts only on what is in it: the preview is what runs.
    expected: Mapping[str, Any] | None = None
    component: str | None = None  # a procedure pinned to one of the service's components

    def target(self, kind: TargetKind) -> Target | None:
        """The service's target of that kind (the pinned component's), or None when it has none."""
        return None if self.service is None else self.service.target(kind, self.component)


Label = str | errors.Said
"""What a result names: a name or a state as the target gives it (`replicas`, `running`), or words, as a
phrase of the book (`container web-1`, `running since 09:12:03 UTC`)."""


def plain(label: Label) -> str:
    """A label as plain text (stored records, file titles): words said with the process's phrase book."""
    return label if isinstance(label, str) else errors.plain(label)


@dataclass(frozen=True)
class Change:
    """One before → after line of a preview or a result."""

    what: Label
    before: Label
    after: Label

    def recorded(self) -> dict[str, str]:
        """As the execution record keeps it: plain text, as it was said at the time (the record is history)."""
        return {"what": plain(self.what), "before": plain(self.before), "after": plain(self.after)}


@dataclass(frozen=True)
class Attachment:
    """A file a result carries (the whole of a long output, a chart): posted in the result's thread."""

    filename: str
    title: errors.Said
    content: str | bytes


@dataclass(frozen=True)
class Chart:
    """What a chart result shows, for the chat surface to word its caption: the catalog check, the
    service, the window, how many series, and the latest value against the check's thresholds."""

    check: str
    service: str | None  # None: the run names no service (the caption words that)
    window: str  # 1h, 6h, 24h
    series: int
    latest: float | None  # None: the first series has no point
    state: str  # ok, warn or fail against the thresholds ("" without a latest value)
    limit: float | None  # the threshold crossed (warn or fail), None when ok


@dataclass(frozen=True)
class ActionResult:
    """What an action did (or, in a dry run, would do): a phrase of the book (templates/phrases.yml)
    said with data fields, never a sentence; each surface renders it (Slack escapes its fields)."""

    summary: errors.Said
    changes: tuple[Change, ...] = ()
    details: str | None = None  # preformatted block (tables, log lines), already size-capped
    data: dict[str, Any] = field(default_factory=dict)  # machine-readable figures for tests and checks
    no_op: bool = False  # nothing to change (already at that revision, already at N replicas)
    files: tuple[Attachment, ...] = ()  # uploaded whole in the result's thread (long output, charts)
    chart: Chart | None = None  # a chart result: the surface words its caption from these facts

    @property
    def summary_text(self) -> str:
        """The summary as plain text in the process's phrase book: what the execution record keeps."""
        return errors.plain(self.summary)


class Action(Protocol):
    """An operation the engine can run as a procedure step."""

    @property
    def name(self) -> str: ...

    @property
    def params_model(self) -> type[BaseModel]: ...

    @property
    def mutating(self) -> bool: ...

    @property
    def target(self) -> TargetKind: ...

    @property
    def requires(self) -> tuple[str, ...]:
        """Fields the target must have set (`hpa`, `deployment`, `queues`), checked at load time."""
        ...

    @property
    def checks_preview(self) -> bool:
        """In a confirmed run, compares what it reads with its preview's `expected` before it changes
        anything, and raises ChangedSincePreview when they differ."""
        ...

    async def run(self, ctx: ActionContext, params: BaseModel) -> ActionResult: ...


@dataclass(frozen=True)
class FunctionAction:
    """An Action made from an async function and its params model."""

    name: str
    params_model: type[BaseModel]
    mutating: bool
    func: Callable[[ActionContext, Any], Awaitable[ActionResult]]
    target: TargetKind
    requires: tuple[str, ...] = ()
    checks_preview: bool = False

    async def run(self, ctx: ActionContext, params: BaseModel) -> ActionResult:
        return await self.func(ctx, params)


class UnknownActionError(KeyError):
    pass


def missing_requirements(action: Action, target: Target | None) -> list[str]:
    """Why the action cannot run on this target: no target of its kind, or fields it needs unset."""
    if target is None:
        return [action.target]
    return [name for name in action.requires if not getattr(target, name, None)]


class ActionRegistry:
    def __init__(self, actions: Iterable[Action] = ()) -> None:
        self._actions: dict[str, Action] = {}
        for action in actions:
            self.add(action)

    def add(self, action: Action) -> None:
        if action.name in self._actions:
            raise ValueError(f"action {action.name!r} registered twice")
        self._actions[action.name] = action

    def get(self, name: str) -> Action:
        try:
            return self._actions[name]
        except KeyError:
            raise UnknownActionError(name) from None

    def names(self) -> list[str]:
        return sorted(self._actions)

    def validate_params(self, name: str, params: dict[str, Any]) -> BaseModel:
        """Arguments → the action's params model; raises ValidationError or UnknownActionError."""
        return self.get(name).params_model.model_validate(params)


__all__ = [
    "Action",
    "ActionContext",
    "ActionRegistry",
    "ActionResult",
    "Attachment",
    "Change",
    "FunctionAction",
    "Label",
    "ProgressReporter",
    "UnknownActionError",
    "ValidationError",
    "missing_requirements",
    "plain",
]
