"""Load `commands/*.yml` into Procedures and check them against the catalog and the action registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot import errors
from bot.actions.registry import ActionRegistry, UnknownActionError
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
RESERVED_NAMES = frozenset({"help", "list", "history", "health"})


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
        if action.mutating and not procedure.destructive:
            problems.append(f"{where}: `{step.action}` changes things; set `destructive: true`")
        try:
            registry.validate_params(step.action, step_arguments(procedure, step.args, samples))
        except ValidationError as exc:
            problems.extend(format_validation_error(f"{where}.args", exc))
    return problems


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
        problems.extend(_check(procedure, str(path), catalog, registry))
        procedures[procedure.name] = procedure
    if problems:
        raise errors.ConfigError(problems)
    return procedures
