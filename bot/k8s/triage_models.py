"""What the adapter's diagnosis reads return (events, describe, nodes, HPA, endpoints, merged logs)."""

from __future__ import annotations

from dataclasses import dataclass

from bot import errors
from bot.k8s.models import Condition


@dataclass(frozen=True)
class EventInfo:
    type: str  # Normal | Warning
    reason: str
    object: str  # `pod/name`, `replicaset/name`, `deployment/name`
    message: str
    count: int
    last_seen: str  # RFC 3339, as the API gave it ("" when unknown)


@dataclass(frozen=True)
class ContainerState:
    state: str  # running | waiting | terminated
    reason: str  # CrashLoopBackOff, OOMKilled, ImagePullBackOff, Completed, ""
    message: str
    exit_code: int | None
    at: str  # started or finished at, RFC 3339


@dataclass(frozen=True)
class ContainerDescription:
    name: str
    image: str
    ready: bool
    restarts: int
    state: ContainerState
    last_state: ContainerState | None


@dataclass(frozen=True)
class PodDescription:
    name: str
    node: str
    phase: str
    started: str
    conditions: tuple[Condition, ...]
    containers: tuple[ContainerDescription, ...]
    warnings: tuple[EventInfo, ...]  # probe failures, back-offs, pull errors: the pod's Warning events


@dataclass(frozen=True)
class NodeInfo:
    name: str
    ready: bool
    problems: tuple[str, ...]  # conditions other than Ready that are True (MemoryPressure, DiskPressure, …)
    unschedulable: bool
    version: str
    cpu: str  # allocatable
    memory: str
    age_seconds: int


@dataclass(frozen=True)
class HpaMetric:
    name: str  # `cpu`, `memory`, a pods/object/external metric name
    current: str  # `64%`, `192m`, `<unknown>`
    target: str  # `70%`, `500m`


@dataclass(frozen=True)
class HpaStatus:
    name: str
    current: int
    desired: int
    min_replicas: int
    max_replicas: int
    metrics: tuple[HpaMetric, ...]
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class EndpointAddress:
    ip: str
    pod: str
    ready: bool


@dataclass(frozen=True)
class ServiceEndpoints:
    name: str
    type: str
    cluster_ip: str
    ports: tuple[str, ...]  # `80→8080/TCP`
    addresses: tuple[EndpointAddress, ...]
    ingress_hosts: tuple[str, ...]


@dataclass(frozen=True)
class RolloutState:
    message: errors.Said  # kubectl rollout status's line, read once (--watch=false), as a phrase
    done: bool
    revision: int


@dataclass(frozen=True)
class LogLine:
    pod: str
    timestamp: str  # RFC 3339 from the API (`timestamps=true`)
    text: str


@dataclass(frozen=True)
class MergedLogs:
    lines: tuple[LogLine, ...]  # oldest first, all pods merged by timestamp
    pods: tuple[str, ...]
    matched: int  # lines that passed the filter, before keeping the newest `lines`
    clipped_pods: tuple[str, ...]  # pods whose read hit the byte limit: older lines were not read
    unread_pods: int  # pods beyond the limit on how many are read
