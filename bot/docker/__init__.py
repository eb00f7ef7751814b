"""The Docker Engine boundary: every call to a Docker host lives here (like bot.k8s for Kubernetes)."""

from bot.docker.compose import Compose, Container, ContainerStatus, Logs, ScalePlan
from bot.docker.engine import Engine, Engines

__all__ = ["Compose", "Container", "ContainerStatus", "Engine", "Engines", "Logs", "ScalePlan"]
