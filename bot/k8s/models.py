"""What the Kubernetes adapter returns: frozen dataclasses, so no kubernetes type leaks out."""

from __future__ import annotations

from dataclasses import dataclass

from bot import errors


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str
    message: str


@dataclass(frozen=True)
class PodInfo:
    name: str
    ready: int  # containers ready
    total: int  # containers in the pod
    phase: str
    restarts: int
    age_seconds: int
    node: str
    template_hash: str


@dataclass(frozen=True)
class DeploymentStatus:
    namespace: str
    name: str
    desired: int
    updated: int
    ready: int
    available: int
    generation: int
    observed_generation: int
    paused: bool
    revision: int
    images: tuple[str, ...]
    conditions: tuple[Condition, ...]
    pods: tuple[PodInfo, ...]


@dataclass(frozen=True)
class ScaleResult:
    before: int
    after: int
    dry_run: bool


@dataclass(frozen=True)
class RestartResult:
    restarted_at: str  # the RFC 3339 value of kubectl.kubernetes.io/restartedAt
    revision: int  # the revision before the restart
    dry_run: bool


@dataclass(frozen=True)
class RolloutStatus:
    message: errors.Said  # kubectl's last line, e.g. `deployment "x" successfully rolled out`, as a phrase
    revision: int


@dataclass(frozen=True)
class Revision:
    number: int
    change_cause: str
    images: tuple[str, ...]
    current: bool


@dataclass(frozen=True)
class UndoResult:
    from_revision: int
    to_revision: int
    images_before: tuple[str, ...]
    images_after: tuple[str, ...]
    no_op: bool
    dry_run: bool


@dataclass(frozen=True)
class PodUsage:
    name: str
    cpu_millicores: int
    memory_mib: int


@dataclass(frozen=True)
class ValueChange:
    """One value on one object (env var, ConfigMap key, HPA bounds); None = absent."""

    # What was set, e.g. "deployment/x container app env FOO": words, so a phrase of the book whose fields are
    # names (the resource in kubectl's TYPE/NAME form, the container, the variable or key).
    target: errors.Said
    before: str | None
    after: str | None
    no_op: bool
    dry_run: bool


@dataclass(frozen=True)
class HpaChange:
    name: str
    min_before: int
    max_before: int
    min_after: int
    max_after: int
    dry_run: bool


@dataclass(frozen=True)
class DeletedPods:
    names: tuple[str, ...]
    dry_run: bool
