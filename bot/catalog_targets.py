"""The typed targets a catalog service groups: what an action acts on, and how a lock names it.

A target's `address` is its identity (kind + where it lives): two services naming the same
deployment or the same compose service share one lock. Secrets never appear here; databases and
Redis are named by the environment variable that holds their URL.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot import errors

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
# Compose project and service names (docker-compose normalises projects to lowercase [a-z0-9_-]).
COMPOSE_NAME = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$"
LABEL_SELECTOR = r"^[A-Za-z0-9_./-]+(!?=[A-Za-z0-9_.-]*)?(,[A-Za-z0-9_./-]+(!?=[A-Za-z0-9_.-]*)?)*$"

TargetKind = Literal["kubernetes", "compose", "postgres", "redis", "http", "prometheus"]
TARGET_KINDS: tuple[TargetKind, ...] = ("kubernetes", "compose", "postgres", "redis", "http", "prometheus")


def how_to_add(service: str, lacking: str) -> errors.Said:
    """What to write in the catalog so `service` has the target field (`kubernetes.maintenance`) a step needs."""
    if lacking == "kubernetes.maintenance":
        return errors.Said("add_maintenance_mode", service=service, under=errors.Code(f"services.{service}.kubernetes"))
    return errors.Said(
        "add_target_field", service=service, field=errors.Code(lacking), under=errors.Code(f"services.{service}")
    )


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnvMaintenance(Model):
    """Maintenance mode as an environment variable on the deployment (Email Dashboard runbook)."""

    kind: Literal["env"] = "env"
    variable: str = "MAINTENANCE_MODE"
    container: str | None = None


class ConfigMapMaintenance(Model):
    """Maintenance mode as a ConfigMap key (Mail Score runbook)."""

    kind: Literal["configmap"] = "configmap"
    configmap: str = Field(pattern=NAME_PATTERN)
    key: str = "MAINTENANCE_MODE"


Maintenance = Annotated[EnvMaintenance | ConfigMapMaintenance, Field(discriminator="kind")]


class KubernetesTarget(Model):
    """A Deployment, or the pods a label selector picks, in one namespace of one kubeconfig context."""

    context: str | None = None  # kubeconfig context; None = the current context or in-cluster
    namespace: str = Field(pattern=NAME_PATTERN)
    deployment: str | None = Field(default=None, pattern=NAME_PATTERN)
    selector: str | None = Field(default=None, pattern=LABEL_SELECTOR)  # `component=auth`: pods, logs
    container: str | None = None  # default container for set-env/logs; None = the first one
    hpa: str | None = Field(default=None, pattern=NAME_PATTERN)
    maintenance: Maintenance | None = None
    # Image repositories set-image may deploy from (`ghcr.io/repo/mail-score-backend`, runbook 001).
    image_repositories: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_workload(self) -> KubernetesTarget:
        if (self.deployment is None) == (self.selector is None):
            raise ValueError("set exactly one of `deployment` (a Deployment) or `selector` (labels of pods)")
        return self

    @property
    def deployment_name(self) -> str:
        """The Deployment; the loader never hands a selector-only target to an action that needs one."""
        if self.deployment is None:
            raise errors.UserError("selector_not_a_deployment", selector=errors.Code(str(self.selector)))
        return self.deployment

    @property
    def address(self) -> str:
        where = f"deployment/{self.deployment}" if self.deployment else f"pods/{self.selector}"
        return f"kubernetes:{self.context or 'default'}/{self.namespace}/{where}"


class ComponentSpec(Model):
    """A further workload of a service (runbook 000's ingestion, websocket, auth): same namespace and
    context as the service's `kubernetes` target unless given."""

    namespace: str | None = Field(default=None, pattern=NAME_PATTERN)
    deployment: str | None = Field(default=None, pattern=NAME_PATTERN)
    selector: str | None = Field(default=None, pattern=LABEL_SELECTOR)
    container: str | None = None

    def resolve(self, base: KubernetesTarget | None) -> KubernetesTarget:
        """The component as a full target; the catalog ensures it has a namespace, its own or the base's."""
        namespace = self.namespace or (base.namespace if base else None)
        if namespace is None:
            raise ValueError("a component without a `kubernetes` target on its service needs a `namespace`")
        return KubernetesTarget(
            context=base.context if base else None,
            namespace=namespace,
            deployment=self.deployment,
            selector=self.selector,
            container=self.container,
        )


class ComposeTarget(Model):
    """One service of a docker-compose project on a Docker host (`docker-compose -p PROJECT ... SERVICE`)."""

    host: str = "default"  # a name under the catalog's `docker_hosts`
    project: str = Field(pattern=COMPOSE_NAME)
    service: str = Field(pattern=COMPOSE_NAME)
    stop_timeout: int = Field(default=10, ge=0, le=600)  # seconds, like `docker-compose restart -t`

    @property
    def address(self) -> str:
        return f"compose:{self.host}/{self.project}/{self.service}"


class PostgresTarget(Model):
    dsn_env: str

    @property
    def address(self) -> str:
        return f"postgres:env/{self.dsn_env}"


class RedisTarget(Model):
    url_env: str
    queues: tuple[str, ...] = ()
    cache_patterns: tuple[str, ...] = ()  # SCAN patterns clear-cache may delete (`email:*`)

    @property
    def address(self) -> str:
        return f"redis:env/{self.url_env}"


class HttpTarget(Model):
    health_url: str

    @property
    def address(self) -> str:
        return f"http:{self.health_url}"


class PrometheusTarget(Model):
    queries: tuple[str, ...]  # the names of the service's Prometheus checks

    @property
    def address(self) -> str:
        return f"prometheus:{','.join(self.queries)}"


Target = KubernetesTarget | ComposeTarget | PostgresTarget | RedisTarget | HttpTarget | PrometheusTarget


class DockerHost(Model):
    """How the bot reaches a Docker Engine: a unix socket, or tcp:// to a socket proxy.

    No url means what the docker CLI does: $DOCKER_HOST, else the local socket."""

    url: str | None = Field(default=None, pattern=r"^(unix:///|tcp://)\S+$")
