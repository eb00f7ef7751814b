"""`/runbook <procedure> <args>` → typed arguments, or one clear line plus usage.

Tokenising uses shlex in POSIX mode purely as a quote-aware splitter: nothing is
ever handed to a shell.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot import errors
from bot.catalog import Catalog
from bot.catalog_targets import how_to_add
from bot.runbooks.model import (
    DurationParam,
    EnumParam,
    IntParam,
    Param,
    Procedure,
    ServiceParam,
    StringParam,
    SwitchParam,
)

_DURATION = re.compile(r"^(\d{1,7})([smhd]?)$")
SWITCH_WORDS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
_UNIT_SECONDS = {"": 60, "s": 1, "m": 60, "h": 3600, "d": 86400}  # a bare number means minutes
MAX_INPUT_CHARS = 2000


@dataclass(frozen=True)
class ParsedCommand:
    procedure: Procedure
    args: Mapping[str, Any]
    # What the user asked for, canonically: declared order, flag names, their units ("logs x --since 1h").
    # Shown in progress, history and audit, so that pasting it back runs the same thing.
    text: str = ""
    given: Mapping[str, str] = field(default_factory=dict)  # each param's value as typed, for `text`

    @property
    def service(self) -> str | None:
        if self.procedure.target is not None:
            return self.procedure.target.service
        param = self.procedure.service_param
        return None if param is None else self.args.get(param.name)


def closest(word: str, candidates: Sequence[str]) -> str | None:
    matches = difflib.get_close_matches(word, candidates, n=1, cutoff=0.5)
    return matches[0] if matches else None


def tokenize(text: str) -> list[str]:
    if len(text) > MAX_INPUT_CHARS:
        raise errors.UserError("command_too_long", length=len(text), limit=MAX_INPUT_CHARS)
    try:
        return shlex.split(text, posix=True)
    except ValueError as exc:  # unbalanced quotes
        raise errors.UserError("quote_not_closed") from exc


def unknown_name_error(
    kind: str, word: str, candidates: Sequence[str], *, usage: str | None = None
) -> errors.UserError:
    """`kind` names what was looked up (service, procedure, option, subcommand, runbook, section): the
    phrase may word each its own way."""
    hint = closest(word, candidates)
    return errors.NotFoundError(
        "unknown_name",
        kind=kind,
        name=errors.Code(word),
        hint=None if hint is None else errors.Code(hint),
        known=sorted(candidates),
        usage=usage,
    )


def parse_duration(raw: str) -> int:
    match = _DURATION.match(raw.strip().lower())
    if not match:
        raise errors.UserError("duration_expected", duration=errors.Code(raw))
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _convert(param: Param, raw: str, catalog: Catalog, args: Mapping[str, Any]) -> Any:
    if isinstance(param, ServiceParam):
        if raw not in catalog.services:
            raise unknown_name_error("service", raw, param.services or list(catalog.services))
        if param.services is not None and raw not in param.services:
            fixes = [how_to_add(raw, lacking) for lacking in param.lacking(raw)]
            works_on = [errors.Code(s) for s in param.services]
            raise errors.UserError("service_not_acted_on", service=errors.Code(raw), fixes=fixes, works_on=works_on)
        return raw
    if isinstance(param, IntParam):
        # ASCII digits only: int() would also take "1_000", " 5" and other scripts' digits.
        if not re.fullmatch(r"-?[0-9]{1,9}", raw):
            raise errors.UserError("whole_number_expected", param=errors.Code(param.name), value=errors.Code(raw))
        value = int(raw)
        low, high = param.min, param.max
        service = args.get("service")
        if param.within_service_replicas and isinstance(service, str) and service in catalog.services:
            limits = catalog.services[service].replicas
            low = limits.min if low is None else max(low, limits.min)
            high = limits.max if high is None else min(high, limits.max)
        if (low is not None and value < low) or (high is not None and value > high):
            raise errors.UserError(
                "number_out_of_range",
                param=errors.Code(param.name),
                low=low,
                high=high,
                service=service if param.within_service_replicas and service else None,
                value=value,
            )
        return value
    if isinstance(param, EnumParam):
        if raw not in param.choices:
            hint = closest(raw, param.choices)
            raise errors.UserError(
                "not_a_choice",
                param=errors.Code(param.name),
                choices=list(param.choices),
                hint=None if hint is None else errors.Code(hint),
            )
        return raw
    if isinstance(param, DurationParam):
        seconds = parse_duration(raw)
        if not param.min_seconds <= seconds <= param.max_seconds:
            raise errors.UserError(
                "duration_out_of_range",
                param=errors.Code(param.name),
                low=param.min_seconds,
                high=param.max_seconds,
                value=errors.Code(raw),
            )
        return seconds
    if isinstance(param, SwitchParam):
        if raw.lower() not in SWITCH_WORDS:
            raise errors.UserError(
                "switch_value", switch=errors.Code(f"--{param.name}"), off=errors.Code(f"--{param.name}=false")
            )
        return SWITCH_WORDS[raw.lower()]
    assert isinstance(param, StringParam)
    if len(raw) > param.max_length or not re.fullmatch(param.pattern, raw):
        raise errors.UserError("text_refused", param=errors.Code(param.name))
    return raw


def _default(param: Param) -> Any:
    default = getattr(param, "default", None)
    if isinstance(param, DurationParam) and isinstance(default, str):
        return parse_duration(default)
    return default


def bind_arguments(procedure: Procedure, tokens: Sequence[str], catalog: Catalog) -> ParsedCommand:
    """Positional and `--flag value` tokens → typed values, in the order the params are declared."""
    usage = procedure.usage_line()
    named: dict[str, str] = {}
    positional: list[str] = []
    flags = {p.name for p in procedure.params}
    switches = {p.name for p in procedure.params if isinstance(p, SwitchParam)}
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.startswith("--") and len(token) > 2:
            name, _, inline = token[2:].partition("=")
            name = name.replace("-", "_")
            if name not in flags:
                raise unknown_name_error("option", f"--{name}", [f"--{f}" for f in flags], usage=usage)
            if inline:
                named[name] = inline
            elif name in switches:
                named[name] = "true"  # a switch takes no value: the next token is the next argument
            elif index + 1 < len(tokens):
                index += 1
                named[name] = tokens[index]
            else:
                raise errors.UserError("option_needs_value", option=errors.Code(f"--{name}"), usage=usage)
        else:
            positional.append(token)
        index += 1

    args: dict[str, Any] = {}
    given: dict[str, str] = {}
    remaining = list(positional)
    for param in procedure.params:
        raw = named.pop(param.name, None)
        if raw is None and not param.flag and remaining:
            raw = remaining.pop(0)
        if raw is not None:
            given[param.name] = raw
        if raw is None:
            if param.required and _default(param) is None:
                raise errors.UserError("missing_argument", param=errors.Code(param.name), usage=usage)
            args[param.name] = _default(param)
            continue
        try:
            args[param.name] = _convert(param, raw, catalog, args)
        except errors.UserError as exc:
            raise errors.UserError(exc.said, usage=usage) from exc
    if remaining:
        raise errors.UserError("too_many_arguments", extra=errors.Code(" ".join(remaining[:5])), usage=usage)
    return ParsedCommand(procedure=procedure, args=args, text=canonical_text(procedure, given, args), given=dict(given))


def canonical_text(procedure: Procedure, given: Mapping[str, str], args: Mapping[str, Any]) -> str:
    """The command as typed, tidied: params in declared order, positional while nothing was skipped,
    flags by name, each value as the user wrote it (so `--since 1h` stays `1h`, not 3600)."""
    words = [procedure.name]
    positional = True
    for param in procedure.params:
        raw = given.get(param.name)
        if raw is None:
            positional = positional and param.flag  # after a skipped positional, later ones need their name
            continue
        if isinstance(param, SwitchParam):
            words += [f"--{param.name}"] if args[param.name] else []
        elif param.flag or not positional:
            words += [f"--{param.name}", shlex.quote(raw)]
        else:
            words.append(shlex.quote(raw))
    return " ".join(words)


def parse(text: str, procedures: Mapping[str, Procedure], catalog: Catalog) -> ParsedCommand:
    tokens = tokenize(text)
    if not tokens:
        raise errors.UserError("which_procedure", help=errors.Code("/runbook help"))
    name, rest = tokens[0].lower(), tokens[1:]
    procedure = procedures.get(name)
    if procedure is None:
        raise unknown_name_error("procedure", name, list(procedures), usage="/runbook help")
    return bind_arguments(procedure, rest, catalog)
