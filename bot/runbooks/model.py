"""Procedures as data: the pydantic model of one `commands/*.yml` file."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

PROCEDURE_NAME = r"^[a-z][a-z0-9-]{0,40}$"
PARAM_NAME = r"^[a-z][a-z0-9_]{0,40}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ParamBase(_Model):
    name: str = Field(pattern=PARAM_NAME)
    help: str = ""
    required: bool = True
    flag: bool = False  # given as `--name value` instead of by position


class ServiceParam(_ParamBase):
    type: Literal["service"]
    # The services this parameter accepts. Left out: every catalog service whose targets fit every
    # step (the loader fills the list in, so `/runbook help` and the parser show the real choice).
    services: list[str] | None = None
    # Filled in with `services`: what each service left out lacks (`kubernetes.maintenance`), so that
    # a refusal names the fix. Private: a procedure file cannot set it.
    _lacking: dict[str, list[str]] = PrivateAttr(default_factory=dict)

    def lacking(self, service: str) -> list[str]:
        return self._lacking.get(service, [])


class IntParam(_ParamBase):
    type: Literal["int"]
    min: int | None = None
    max: int | None = None
    default: int | None = None
    within_service_replicas: bool = False  # also bounded by the service's replicas.min/max


class EnumParam(_ParamBase):
    type: Literal["enum"]
    choices: list[str] = Field(min_length=1)
    default: str | None = None


class DurationParam(_ParamBase):
    """`90s`, `5m`, `2h` → seconds."""

    type: Literal["duration"]
    min_seconds: int = 1
    max_seconds: int = 7 * 24 * 3600
    default: str | None = None


class StringParam(_ParamBase):
    type: Literal["string"]
    pattern: str = r"^[A-Za-z0-9_.:/=-]{1,253}$"
    max_length: int = Field(default=253, le=4000)
    default: str | None = None
    # This parameter is the value of the env variable / ConfigMap key named by parameter `value_of`:
    # it is masked wherever the bot writes it, unless the catalog's `shown_values` lists that name.
    value_of: str | None = None

    @model_validator(mode="after")
    def _pattern_compiles(self) -> StringParam:
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"pattern does not compile: {exc}") from exc
        return self


class SwitchParam(_ParamBase):
    """`--name` alone turns it on, like kubectl's `--previous`; left out, it is off."""

    type: Literal["switch"]
    flag: Literal[True] = True
    required: Literal[False] = False
    default: Literal[False] = False


Param = Annotated[
    ServiceParam | IntParam | EnumParam | DurationParam | StringParam | SwitchParam, Field(discriminator="type")
]


class Step(_Model):
    """One action call. `args` values are literals, or `$param` to take a parameter's value."""

    action: str
    title: str | None = None
    args: dict[str, Any] = {}
    timeout_seconds: float = Field(default=120.0, gt=0, le=3600)
    when: str | None = None  # `param=value`: run only when that parameter has that value

    def label(self) -> str:
        return self.title or self.action


class PinnedTarget(_Model):
    """A procedure fixed to one service (and optionally one of its components): pure-YAML runbook steps."""

    service: str
    component: str | None = None


class Procedure(_Model):
    name: str = Field(pattern=PROCEDURE_NAME)
    summary: str
    usage: str | None = None
    params: list[Param] = []
    roles: list[str] = Field(min_length=1)
    channels: list[str] = []  # logical names or channel ids; empty = anywhere
    destructive: bool = False
    approval: Literal["none", "two_person"] = "none"
    confirm_timeout_minutes: int = Field(default=5, ge=1, le=60)
    lock: bool = True  # destructive runs lock the target their first changing step acts on
    target: PinnedTarget | None = None  # a fixed service instead of a `service` parameter
    examples: list[str] = []
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Procedure:
        names = [p.name for p in self.params]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"parameter names repeat: {sorted(duplicates)}")
        if self.target is not None and self.service_param is not None:
            raise ValueError("a procedure with a pinned `target` takes no `service` parameter; remove one of them")
        if self.approval == "two_person" and not self.destructive:
            raise ValueError("approval: two_person only makes sense with destructive: true")
        for param in self.params:
            if isinstance(param, StringParam) and param.value_of is not None and param.value_of not in names:
                raise ValueError(f"parameter {param.name}: value_of: {param.value_of} names no parameter")
        for step in self.steps:
            for value in step.args.values():
                if isinstance(value, str) and value.startswith("$") and value[1:] not in names:
                    raise ValueError(f"step {step.action}: argument {value} names no parameter")
        return self

    @property
    def service_param(self) -> ServiceParam | None:
        return next((p for p in self.params if isinstance(p, ServiceParam)), None)

    def usage_line(self) -> str:
        if self.usage:
            return f"/runbook {self.usage}"
        parts = [self.name]
        for p in self.params:
            shown = f"--{p.name} <{p.name}>" if p.flag else f"<{p.name}>"
            if isinstance(p, SwitchParam):
                shown = f"--{p.name}"
            if isinstance(p, EnumParam) and not p.flag:
                shown = "|".join(p.choices)
            parts.append(shown if p.required else f"[{shown}]")
        return "/runbook " + " ".join(parts)
