"""The Kubernetes adapter: the only package that imports `kubernetes`."""

from bot.k8s.models import (
    Condition,
    DeletedPods,
    DeploymentStatus,
    HpaChange,
    LogsResult,
    PodInfo,
    PodUsage,
    RestartResult,
    Revision,
    RolloutStatus,
    ScaleResult,
    UndoResult,
    ValueChange,
)
from bot.k8s.operations import Kube

__all__ = [
    "Condition",
    "DeletedPods",
    "DeploymentStatus",
    "HpaChange",
    "Kube",
    "LogsResult",
    "PodInfo",
    "PodUsage",
    "RestartResult",
    "Revision",
    "RolloutStatus",
    "ScaleResult",
    "UndoResult",
    "ValueChange",
]
