"""The catalog's `statuspage:` and `pagerduty:` sections: where incidents are announced and who is paged.

Secrets never live here: the catalog names the environment variables that hold the Statuspage API
key, the PagerDuty routing keys and the PagerDuty REST token; they are read when a call is made.
Only pydantic and the standard library, because `bot.catalog` imports this module.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
# Statuspage's own vocabulary (REST API v1): an incident's impact and a component's status.
Impact = Literal["none", "minor", "major", "critical"]
ComponentStatus = Literal["degraded_performance", "partial_outage", "major_outage"]
# PagerDuty Events API v2 `payload.severity`.
EventSeverity = Literal["critical", "error", "warning", "info"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StatuspageService(_Model):
    page_id: str = Field(pattern=r"^[A-Za-z0-9]+$")
    components: list[str] = Field(min_length=1)  # component ids on that page
    name: str = Field(min_length=1, max_length=100)  # what customers call the service (public text uses it)


class PublicSeverity(_Model):
    impact: Impact
    component_status: ComponentStatus
    # `/incident declare` offers "update the status page" already chosen for this severity.
    default: bool = False


class StatuspageConfig(_Model):
    api_key_env: str = Field(pattern=ENV_NAME)  # holds the key sent as `Authorization: OAuth <key>`
    services: dict[str, StatuspageService]
    severities: dict[str, PublicSeverity]
    # `/maintenance schedule` previews a Statuspage scheduled maintenance unless told `--no-public`.
    maintenance_default: bool = False

    def default_for(self, severity: str) -> bool:
        rule = self.severities.get(severity)
        return rule is not None and rule.default


class PagerDutyRoute(_Model):
    routing_key_env: str = Field(pattern=ENV_NAME)  # an Events API v2 integration key
    escalation_policy: str | None = None  # its id (P…): `/incident oncall` asks who is on call in it


class PagerDutyConfig(_Model):
    routing_key_env: str | None = Field(default=None, pattern=ENV_NAME)  # when no service or severity has one
    api_token_env: str | None = Field(default=None, pattern=ENV_NAME)  # REST API token, for `/incident oncall`
    page: list[str] = ["P1", "P2"]  # severities whose declaration triggers an event
    services: dict[str, PagerDutyRoute] = {}
    severities: dict[str, PagerDutyRoute] = {}
    event_severity: dict[str, EventSeverity] = {"P1": "critical", "P2": "error", "P3": "warning", "P4": "info"}

    def routing_key_env_for(self, severity: str, services: Collection[str]) -> str | None:
        """The incident's first service with a route, else its severity's, else the default."""
        for name in services:
            if name in self.services:
                return self.services[name].routing_key_env
        if severity in self.severities:
            return self.severities[severity].routing_key_env
        return self.routing_key_env


class EscalationStep(_Model):
    """One row of a severity's escalation matrix: past `after_minutes` open, remind the lead to escalate."""

    level: str = Field(min_length=1, max_length=20)  # "L2"
    after_minutes: int = Field(gt=0)  # since the declaration
    contacts: list[str] = Field(min_length=1)  # who to bring in (names, roles, rotations: shown as written)


def reference_problems(
    statuspage: StatuspageConfig | None,
    pagerduty: PagerDutyConfig | None,
    *,
    services: Collection[str],
    severities: Collection[str],
    escalation: Mapping[str, list[EscalationStep]] | None = None,
) -> list[str]:
    """Services and severities these sections name that the catalog does not define."""
    problems: list[str] = []

    def check(section: str, names: Collection[str], known: Collection[str], what: str) -> None:
        for name in names:
            if name not in known:
                problems.append(f"{section}: {name!r} is not a {what} of this catalog; fix the spelling or add it")

    if escalation:
        check("escalation", escalation, severities, "severity under 'severities'")
    if statuspage is not None:
        check("statuspage.services", statuspage.services, services, "service under 'services'")
        check("statuspage.severities", statuspage.severities, severities, "severity under 'severities'")
    if pagerduty is not None:
        check("pagerduty.services", pagerduty.services, services, "service under 'services'")
        check("pagerduty.severities", pagerduty.severities, severities, "severity under 'severities'")
        check("pagerduty.page", pagerduty.page, severities, "severity under 'severities'")
        routed = bool(pagerduty.routing_key_env or pagerduty.services)
        for severity in pagerduty.page:
            if severity in severities and severity not in pagerduty.severities and not routed:
                problems.append(
                    f"pagerduty.page: {severity} pages but no routing key is named for it; "
                    f"set pagerduty.routing_key_env or pagerduty.severities.{severity}.routing_key_env"
                )
    return problems


def unset_env(
    statuspage: StatuspageConfig | None, pagerduty: PagerDutyConfig | None, environ: Mapping[str, str]
) -> list[str]:
    """Environment variables the sections name that are not set, each with its catalog key."""
    named: list[tuple[str, str]] = []
    if statuspage is not None:
        named.append(("statuspage.api_key_env", statuspage.api_key_env))
    if pagerduty is not None:
        if pagerduty.routing_key_env:
            named.append(("pagerduty.routing_key_env", pagerduty.routing_key_env))
        if pagerduty.api_token_env:
            named.append(("pagerduty.api_token_env", pagerduty.api_token_env))
        named += [(f"pagerduty.services.{n}.routing_key_env", r.routing_key_env) for n, r in pagerduty.services.items()]
        named += [
            (f"pagerduty.severities.{n}.routing_key_env", r.routing_key_env) for n, r in pagerduty.severities.items()
        ]
    return [f"{key}: environment variable {var} is not set" for key, var in named if not environ.get(var, "").strip()]


def maintenance_warnings(
    statuspage: StatuspageConfig | None, services: Collection[str], environ: Mapping[str, str]
) -> list[str]:
    """What keeps maintenance windows off the status page when the catalog announces them by default:
    the API key's variable unset, or services without a page (their windows cannot be announced)."""
    if statuspage is None or not statuspage.maintenance_default:
        return []
    warnings = []
    if not environ.get(statuspage.api_key_env, "").strip():
        warnings.append(
            f"statuspage.maintenance_default: window announcements need environment variable "
            f"{statuspage.api_key_env} (statuspage.api_key_env), which is not set"
        )
    for name in sorted(set(services) - set(statuspage.services)):
        warnings.append(
            f"statuspage.maintenance_default: windows of service {name!r} cannot be announced: it has no "
            f"page id; add statuspage.services.{name} (page_id, components, name)"
        )
    return warnings
