"""Load `commands/*.yml` into Procedures and check them against the catalog and the action registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot import errors
from bot.actions.registry import Action, ActionRegistry, UnknownActionError, missing_requirements
from bot.catalog import Catalog, format_validation_error, read_yaml
from bot.runbooks.model import (
    DurationParam,
    EnumParam,
    IntParam,
    Param,
    Procedure,
    ServiceParam,
    SwitchParam,
)

# Names the `/runbook` command answers itself; a procedure file may not take them.
RESERVED_NAMES = frozenset({"help", "list", "history", "health", "guide"})


def _sample_value(param: Param) -> Any:
    """A value of the parameter's type, to type-check step arguments at load time."""
    if isinstance(param, IntParam):
        return param.min if param.min is not None else 1
    if isinstance(param, EnumParam):
        return param.choices[0]
    if isinstance(param, DurationParam):
        return param.min_seconds
    if isinstance(param, SwitchParam):
        return True
    return "sample"


def step_arguments(procedure: Procedure, step_args: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Resolve `$param` references in a step's arguments against the parsed values."""
    resolved: dict[str, Any] = {}
    for key, value in step_args.items():
        if isinstance(value, str) and value.startswith("$"):
            resolved[key] = values.get(value[1:])
        else:
            resolved[key] = value
    return resolved


def _unset_optionals(procedure: Procedure, samples: dict[str, Any]) -> dict[str, Any]:
    """The samples with every optional parameter that has no default left out (None at run time)."""
    return {
        p.name: None if not p.required and getattr(p, "default", None) is None else samples[p.name]
        for p in procedure.params
    }


def _fits(service: str, catalog: Catalog, actions: list[Action], component: str | None = None) -> list[str]:
    """What the service lacks for these actions (`compose`, `kubernetes.hpa`), empty when they all fit."""
    lacking: list[str] = []
    for action in actions:
        target = catalog.services[service].target(action.target, component)
        for need in missing_requirements(action, target):
            label = need if target is None else f"{action.target}.{need}"
            if label not in lacking:
                lacking.append(label)
    return lacking


def _check_targets(procedure: Procedure, source: str, catalog: Catalog, actions: list[Action]) -> list[str]:
    """Every service the procedure may run on has a target each step's action can act on."""
    if procedure.target is not None:
        pin = procedure.target
        if pin.service not in catalog.services:
            return [f"{source}: target.service: `{pin.service}` is not a catalog service; use one of the `services`"]
        if pin.component is not None and pin.component not in catalog.services[pin.service].components:
            known = ", ".join(catalog.services[pin.service].components) or "none"
            return [f"{source}: target.component: `{pin.service}` has no component `{pin.component}` (has: {known})"]
        lacking = _fits(pin.service, catalog, actions, pin.component)
        if lacking:
            where = pin.service + (f" component {pin.component}" if pin.component else "")
            return [
                f"{source}: target: {where} has no {', '.join(lacking)} target field(s) its steps act on; fix the pin"
            ]
        return []
    param = procedure.service_param
    if param is None or param.services is None:
        return []
    problems: list[str] = []
    for index, name in enumerate(param.services):
        if name not in catalog.services:
            problems.append(f"{source}: params.{param.name}.services.{index}: `{name}` is not a catalog service")
            continue
        lacking = _fits(name, catalog, actions)
        if lacking:
            problems.append(
                f"{source}: params.{param.name}.services.{index}: `{name}` has no {', '.join(lacking)} "
                "in the catalog, so this procedure's steps cannot run on it; remove it or add the target"
            )
    return problems


def _check(procedure: Procedure, source: str, catalog: Catalog, registry: ActionRegistry) -> list[str]:
    problems: list[str] = []
    if procedure.name in RESERVED_NAMES:
        problems.append(f"{source}: name: `{procedure.name}` is built in; choose another name")
    for role in procedure.roles:
        if role not in catalog.roles:
            problems.append(f"{source}: roles: `{role}` is not a role in the catalog ({', '.join(catalog.roles)})")
    for channel in procedure.channels:
        try:
            catalog.channels.resolve(channel)
        except KeyError:
            problems.append(f"{source}: channels: `{channel}` is neither a channel name in the catalog nor an id")
    samples = {p.name: _sample_value(p) for p in procedure.params}
    service_params = {p.name for p in procedure.params if isinstance(p, ServiceParam)}
    actions: list[Action] = []
    for index, step in enumerate(procedure.steps):
        where = f"{source}: steps.{index}"
        if any(isinstance(v, str) and v[1:] in service_params for v in step.args.values()):
            problems.append(f"{where}.args: the service is passed to every action; remove it from args")
            continue
        try:
            action = registry.get(step.action)
        except UnknownActionError:
            problems.append(f"{where}.action: unknown action `{step.action}`; known: {', '.join(registry.names())}")
            continue
        actions.append(action)
        if action.mutating and not procedure.destructive:
            problems.append(f"{where}: `{step.action}` changes things; set `destructive: true`")
        # Once with a value of every parameter's type, once with the optional ones left out.
        for values in (samples, _unset_optionals(procedure, samples)):
            try:
                registry.validate_params(step.action, step_arguments(procedure, step.args, values))
            except ValidationError as exc:
                problems.extend(
                    line + "; the parameter's type or default does not fit this argument"
                    for line in format_validation_error(f"{where}.args", exc)
                )
                break
    if procedure.service_param is None and procedure.target is None and actions:
        problems.append(f"{source}: params: the steps act on a service; add a `service` parameter or a `target`")
    problems.extend(_check_targets(procedure, source, catalog, actions))
    return problems


def runnable_services(procedure: Procedure, catalog: Catalog, registry: ActionRegistry) -> list[str]:
    """The catalog services whose targets fit every step of the procedure."""
    actions = [registry.get(step.action) for step in procedure.steps]
    return [name for name in catalog.services if not _fits(name, catalog, actions)]


def _with_service_choice(procedure: Procedure, catalog: Catalog, registry: ActionRegistry) -> Procedure:
    """A `service` parameter without a `services` list gets the services its steps can run on."""
    param = procedure.service_param
    if param is None or param.services is not None:
        return procedure
    chosen = param.model_copy(update={"services": runnable_services(procedure, catalog, registry)})
    actions = [registry.get(step.action) for step in procedure.steps]
    chosen._lacking = {name: lacking for name in catalog.services if (lacking := _fits(name, catalog, actions))}
    params = [chosen if p is param else p for p in procedure.params]
    return procedure.model_copy(update={"params": params})


def load_procedures(folder: Path, catalog: Catalog, registry: ActionRegistry) -> dict[str, Procedure]:
    """Every procedure in the folder, or a ConfigError listing every problem in every file."""
    problems: list[str] = []
    procedures: dict[str, Procedure] = {}
    files = sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml"))
    if not files:
        raise errors.ConfigError([f"{folder}: no procedure files (*.yml); set RUNBOOK_COMMANDS_DIR"])
    for path in files:
        try:
            data = read_yaml(path)
        except errors.ConfigError as exc:
            problems.extend(exc.problems)
            continue
        try:
            procedure = Procedure.model_validate(data)
        except ValidationError as exc:
            problems.extend(format_validation_error(str(path), exc))
            continue
        if procedure.name in procedures:
            problems.append(f"{path}: name: `{procedure.name}` is defined twice")
            continue
        found = _check(procedure, str(path), catalog, registry)
        problems.extend(found)
        procedures[procedure.name] = procedure if found else _with_service_choice(procedure, catalog, registry)
    if problems:
        raise errors.ConfigError(problems)
    return procedures
