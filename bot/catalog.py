"""The deployment's catalog (`chatops.yml`): services, roles, channels, severities, schedules.

Loaded once at start-up into frozen pydantic models. Every validation problem is
reported with the file, the dotted key and what to do about it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot import errors
from bot.catalog_alerts import AlertsConfig
from bot.catalog_comms import CommsConfig
from bot.catalog_outbound import EscalationStep, PagerDutyConfig, StatuspageConfig, reference_problems
from bot.catalog_targets import (
    NAME_PATTERN,
    TARGET_KINDS,
    ComponentSpec,
    ComposeTarget,
    DockerHost,
    HttpTarget,
    KubernetesTarget,
    PostgresTarget,
    PrometheusTarget,
    RedisTarget,
    Target,
    TargetKind,
)
from bot.catalog_targets import ConfigMapMaintenance as ConfigMapMaintenance  # re-exported for bot.k8s
from bot.catalog_targets import EnvMaintenance as EnvMaintenance
from bot.templating import load_file

SLACK_USER_ID = r"^[UW][A-Z0-9]{2,}$"
SLACK_CHANNEL_ID = r"^[CDG][A-Z0-9]{2,}$"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReplicaLimits(Model):
    min: int = Field(default=0, ge=0)
    max: int = Field(default=50, ge=1, le=1000)

    @model_validator(mode="after")
    def _ordered(self) -> ReplicaLimits:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max}); swap them")
        return self


class PrometheusCheck(Model):
    name: str
    query: str
    warn_above: float | None = None
    fail_above: float | None = None
    suggest: str | None = None


# The keys a service used to carry for its one Deployment; still accepted and moved under `kubernetes:`.
LEGACY_KUBERNETES_KEYS = ("context", "namespace", "deployment", "container", "hpa", "maintenance")


class Service(Model):
    """A system the bot may act on: a group of typed targets (catalog_targets), at most one of each kind."""

    description: str = ""
    kubernetes: KubernetesTarget | None = None
    components: dict[str, ComponentSpec] = {}  # further workloads, pinned by procedures (`service: component`)
    compose: ComposeTarget | None = None
    health_url: str | None = None
    replicas: ReplicaLimits = ReplicaLimits()  # bounds of kubernetes.scale and compose.scale
    prometheus: list[PrometheusCheck] = []
    postgres_dsn_env: str | None = None  # name of the env var holding the DSN; the secret stays in env
    redis_url_env: str | None = None
    queues: list[str] = []  # Redis list keys whose length is a health signal (bull:…:waiting)
    cache_patterns: list[str] = []  # Redis key patterns clear-cache may delete (runbook 000: `email:*`)
    owners: list[str] = []  # escalation contacts shown in notices (free text, escaped)

    @model_validator(mode="before")
    @classmethod
    def _lift_legacy_kubernetes_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not any(k in data for k in LEGACY_KUBERNETES_KEYS):
            return data
        if "kubernetes" in data:
            raise ValueError("give the Deployment either under `kubernetes:` or as top-level keys, not both")
        lifted = {k: v for k, v in data.items() if k not in LEGACY_KUBERNETES_KEYS}
        lifted["kubernetes"] = {k: data[k] for k in LEGACY_KUBERNETES_KEYS if k in data}
        return lifted

    @model_validator(mode="after")
    def _components_have_a_namespace(self) -> Service:
        for name, spec in self.components.items():
            if not re.match(NAME_PATTERN, name):
                raise ValueError(f"components.{name}: component names are lowercase letters, digits and '-'")
            if spec.namespace is None and self.kubernetes is None:
                raise ValueError(f"components.{name}: set `namespace` (the service has no `kubernetes` target)")
            if (spec.deployment is None) == (spec.selector is None):
                raise ValueError(f"components.{name}: set exactly one of `deployment` or `selector`")
        if self.queues and not self.redis_url_env:
            raise ValueError("queues: set `redis_url_env` too; queue lengths are read from that Redis")
        if self.cache_patterns and not self.redis_url_env:
            raise ValueError("cache_patterns: set `redis_url_env` too; the keys are cleared on that Redis")
        return self

    def target(self, kind: TargetKind, component: str | None = None) -> Target | None:
        """The service's target of that kind (a component's, when named), or None when it has none."""
        if component is not None:
            spec = self.components.get(component)
            if kind != "kubernetes" or spec is None:
                return None
            return spec.resolve(self.kubernetes)
        if kind == "kubernetes":
            return self.kubernetes
        if kind == "compose":
            return self.compose
        if kind == "postgres":
            return PostgresTarget(dsn_env=self.postgres_dsn_env) if self.postgres_dsn_env else None
        if kind == "redis":
            if not self.redis_url_env:
                return None
            return RedisTarget(
                url_env=self.redis_url_env, queues=tuple(self.queues), cache_patterns=tuple(self.cache_patterns)
            )
        if kind == "http":
            return HttpTarget(health_url=self.health_url) if self.health_url else None
        return PrometheusTarget(queries=tuple(c.name for c in self.prometheus)) if self.prometheus else None

    def kinds(self) -> list[TargetKind]:
        return [kind for kind in TARGET_KINDS if self.target(kind) is not None]


class Role(Model):
    users: list[Annotated[str, Field(pattern=SLACK_USER_ID)]] = []
    groups: list[str] = []  # Slack user-group handles or ids (S…)
    # Confirmed changes per requester per minute; unset: DESTRUCTIVE_REQUESTS_PER_MINUTE. Highest role wins.
    changes_per_minute: int | None = Field(default=None, ge=1)


class Severity(Model):
    description: str
    response: str  # human text: "15 minutes", "next business day"
    update_every_minutes: int | None = Field(default=None, gt=0)
    escalation: list[str] = []


class HealthThresholds(Model):
    """When a health check turns warn or fail (the runbooks' rules of thumb by default)."""

    check_timeout: float = Field(default=10.0, gt=0, le=120)  # past it a check is "unknown"
    http_timeout: float = Field(default=5.0, gt=0, le=60)
    http_warn_ms: int = Field(default=500, gt=0)
    http_fail_ms: int = Field(default=2000, gt=0)
    restarts_warn: int = Field(default=5, ge=0)  # summed over the deployment's pods
    restarts_fail: int = Field(default=20, ge=0)
    pg_connections_warn: float = Field(default=0.8, gt=0, le=1)  # share of max_connections in use
    pg_connections_fail: float = Field(default=0.95, gt=0, le=1)
    long_query_minutes: int = Field(default=5, ge=1)
    redis_memory_warn: float = Field(default=0.8, gt=0, le=1)  # share of maxmemory
    redis_memory_fail: float = Field(default=0.95, gt=0, le=1)
    queue_warn: int = Field(default=1_000, ge=0)
    queue_fail: int = Field(default=10_000, ge=0)


class HealthSchedule(Model):
    cron: str = "0 9 * * *"
    channel: str = "health"
    timezone: str | None = None
    concurrency: int = Field(default=20, ge=1, le=500)
    thresholds: HealthThresholds = HealthThresholds()


class Channels(Model):
    """Logical channel names used by features, mapped to Slack channel ids."""

    model_config = ConfigDict(extra="allow", frozen=True)
    ops: str = Field(pattern=SLACK_CHANNEL_ID)
    incidents: str = Field(pattern=SLACK_CHANNEL_ID)
    health: str = Field(pattern=SLACK_CHANNEL_ID)
    alerts: str = Field(pattern=SLACK_CHANNEL_ID)

    def resolve(self, name_or_id: str) -> str:
        """A logical name (`ops`) or a literal channel id (`C0123`) → the channel id."""
        value = getattr(self, name_or_id, None)
        if isinstance(value, str):
            return value
        if re.match(SLACK_CHANNEL_ID, name_or_id):
            return name_or_id
        raise KeyError(name_or_id)

    def all(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if isinstance(v, str)}


class Catalog(Model):
    timezone: str = "UTC"
    channels: Channels
    roles: dict[str, Role]
    services: dict[str, Service]
    docker_hosts: dict[str, DockerHost] = {"default": DockerHost()}  # compose targets name one
    severities: dict[str, Severity] = {}
    health: HealthSchedule = HealthSchedule()
    alerts: AlertsConfig = AlertsConfig()  # Alertmanager webhook: suggestions and routing
    comms: CommsConfig = CommsConfig()  # who may read, declare, update, resolve, schedule, cancel
    statuspage: StatuspageConfig | None = None  # public incidents on Atlassian Statuspage
    pagerduty: PagerDutyConfig | None = None  # paging the on-call for P1/P2 incidents
    # Per severity, when to remind an open incident's lead to escalate, and to whom (runbooks' matrices).
    escalation: dict[str, list[EscalationStep]] = {}
    # Env variables and ConfigMap keys whose values may be shown; every other value is masked
    # (a keyed fingerprint) in previews, progress, history, the audit log and the logs.
    shown_values: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]] = []

    @model_validator(mode="after")
    def _cross_references(self) -> Catalog:
        problems: list[str] = []
        for name in self.services:
            if not re.match(NAME_PATTERN, name):
                problems.append(f"services.{name}: service names are lowercase letters, digits and '-'")
        for name, svc in self.services.items():
            if svc.compose is not None and svc.compose.host not in self.docker_hosts:
                known = ", ".join(sorted(self.docker_hosts)) or "none"
                problems.append(
                    f"services.{name}.compose.host: `{svc.compose.host}` is not under `docker_hosts` ({known}); add it"
                )
        for required in ("viewer", "operator", "approver"):
            if required not in self.roles:
                problems.append(f"roles.{required}: missing; procedures refer to it, add it (may be empty)")
        try:
            self.channels.resolve(self.health.channel)
        except KeyError:
            problems.append(
                f"health.channel: {self.health.channel!r} is neither a channel name under 'channels' nor a channel id"
            )
        problems.extend(self.alerts.channel_problems(self.channels.resolve))
        problems.extend(self.comms.role_problems(self.roles))
        problems.extend(
            reference_problems(
                self.statuspage,
                self.pagerduty,
                services=self.services,
                severities=self.severities,
                escalation=self.escalation,
            )
        )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def service(self, name: str) -> Service:
        return self.services[name]


def format_validation_error(source: str, exc: ValidationError) -> list[str]:
    """pydantic errors → `file: dotted.key: message` lines an operator can act on."""
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key; check the spelling or remove it"
        elif err["type"] == "missing":
            message = "required key is missing; add it"
        lines.append(f"{source}: {key}: {message}")
    return lines


def read_yaml(path: Path) -> Any:
    """Parse one YAML file; a syntax error becomes a ConfigError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise errors.ConfigError([f"{path}: cannot read: {exc.strerror}"]) from exc
    try:
        return load_file(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise errors.ConfigError([f"{path}:{where}: invalid YAML: {exc}"]) from exc


def load_catalog(path: Path) -> Catalog:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise errors.ConfigError([f"{path}: expected a mapping at the top level (services, roles, channels)"])
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        raise errors.ConfigError(format_validation_error(str(path), exc)) from exc
