"""The catalog's `alerts:` section: which procedures to suggest for which alert, and where to post.

Only pydantic and the standard library here: it is part of the catalog, which every layer
imports, so it sits below the alerts feature (bot.alerts.routing reads it).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, field_validator

PROCEDURE_NAME = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
# The only placeholder a suggestion may use. The value comes from an alert label, so it is
# only ever filled with a service name that exists in the catalog (never free label text).
PLACEHOLDERS = frozenset({"service"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlertRule(_Model):
    """Alerts named `alertname` (and carrying these exact labels) → service and suggested procedures."""

    alertname: str = Field(min_length=1)
    labels: dict[str, str] = {}  # extra label equality, e.g. {namespace: production}
    service_label: str = "service"  # the label naming the catalog service
    service: str | None = None  # a fixed service, used when the label is absent
    suggest: list[str] = []  # "procedure args…", e.g. "rollback {service}"

    @field_validator("suggest")
    @classmethod
    def _suggestions_are_commands(cls, value: list[str]) -> list[str]:
        for text in value:
            procedure, _, args = text.strip().partition(" ")
            if not re.match(PROCEDURE_NAME, procedure):
                raise ValueError(f"{text!r}: start with a procedure name, e.g. 'status {{service}}'")
            names = {name for _, name, _, _ in string.Formatter().parse(args) if name is not None}
            if names - PLACEHOLDERS:
                raise ValueError(f"{text!r}: only {{service}} may be filled in, not {sorted(names - PLACEHOLDERS)}")
        return value

    def matches(self, labels: dict[str, str]) -> bool:
        return labels.get("alertname") == self.alertname and all(labels.get(k) == v for k, v in self.labels.items())


class AlertRoute(_Model):
    """Alerts of these severities and/or services go to `channel`; an empty list matches anything."""

    channel: str  # a logical name under `channels` or a channel id
    severities: list[str] = []
    services: list[str] = []

    def matches(self, severity: str | None, service: str | None) -> bool:
        return (not self.severities or severity in self.severities) and (not self.services or service in self.services)


class AlertsConfig(_Model):
    channel: str = "alerts"  # where alerts go when no route matches
    severity_label: str = "severity"
    routes: list[AlertRoute] = []  # first match wins
    rules: list[AlertRule] = []  # first match wins, per alert

    def channel_problems(self, resolve: Callable[[str], str]) -> list[str]:
        """Channel names the catalog cannot resolve, as `alerts.…` problems (checked at start-up)."""
        problems = []
        for where, name in [("alerts.channel", self.channel)] + [
            (f"alerts.routes.{i}.channel", r.channel) for i, r in enumerate(self.routes)
        ]:
            try:
                resolve(name)
            except KeyError:
                problems.append(f"{where}: {name!r} is neither a channel name under 'channels' nor a channel id")
        return problems
