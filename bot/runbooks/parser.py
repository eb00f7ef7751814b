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
from bot.text import quoted

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
        raise errors.UserError(f"That command is {len(text)} characters long; the limit is {MAX_INPUT_CHARS}.")
    try:
        return shlex.split(text, posix=True)
    except ValueError as exc:  # unbalanced quotes
        raise errors.UserError(
            "Could not read the arguments: a quote is not closed. Close every quote you open."
        ) from exc


def unknown_name_error(
    kind: str, word: str, candidates: Sequence[str], *, usage: str | None = None
) -> errors.UserError:
    hint = closest(word, candidates)
    suggestion = f" Did you mean `{hint}`?" if hint else ""
    return errors.NotFoundError(
        f"Unknown {kind} {quoted(word)}.{suggestion} Known: {', '.join(sorted(candidates))}.", usage=usage
    )


def parse_duration(raw: str) -> int:
    match = _DURATION.match(raw.strip().lower())
    if not match:
        raise ValueError("expected a duration like 30s, 5m, 2h or 1d")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _convert(param: Param, raw: str, catalog: Catalog, args: Mapping[str, Any]) -> Any:
    if isinstance(param, ServiceParam):
        if raw not in catalog.services:
            raise unknown_name_error("service", raw, param.services or list(catalog.services))
        if param.services is not None and raw not in param.services:
            choice = ", ".join(f"`{s}`" for s in param.services) or "no service in the catalog"
            fixes = "".join(f" {how_to_add(raw, lacking)}" for lacking in param.lacking(raw))
            raise errors.UserError(f"{quoted(raw)} has no target this procedure acts on.{fixes} It works on: {choice}.")
        return raw
    if isinstance(param, IntParam):
        # ASCII digits only: int() would also take "1_000", " 5" and other scripts' digits.
        if not re.fullmatch(r"-?[0-9]{1,9}", raw):
            raise ValueError(f"`{param.name}` must be a whole number, not {quoted(raw)}")
        value = int(raw)
        low, high = param.min, param.max
        service = args.get("service")
        if param.within_service_replicas and isinstance(service, str) and service in catalog.services:
            limits = catalog.services[service].replicas
            low = limits.min if low is None else max(low, limits.min)
            high = limits.max if high is None else min(high, limits.max)
        if (low is not None and value < low) or (high is not None and value > high):
            where = f" for {service}" if param.within_service_replicas and service else ""
            raise ValueError(f"`{param.name}` must be between {low} and {high}{where}; got {value}")
        return value
    if isinstance(param, EnumParam):
        if raw not in param.choices:
            hint = closest(raw, param.choices)
            reason = f"`{param.name}` must be one of {', '.join(param.choices)}"
            raise ValueError(f"{reason}. Did you mean `{hint}`?" if hint else reason)
        return raw
    if isinstance(param, DurationParam):
        seconds = parse_duration(raw)
        if not param.min_seconds <= seconds <= param.max_seconds:
            raise ValueError(
                f"`{param.name}` must be between {param.min_seconds}s and {param.max_seconds}s; got {quoted(raw)}"
            )
        return seconds
    if isinstance(param, SwitchParam):
        if raw.lower() not in SWITCH_WORDS:
            raise ValueError(f"`--{param.name}` is a switch: give it alone, or as `--{param.name}=false`")
        return SWITCH_WORDS[raw.lower()]
    assert isinstance(param, StringParam)
    if len(raw) > param.max_length or not re.fullmatch(param.pattern, raw):
        raise ValueError(f"`{param.name}` has characters or a length this procedure does not accept")
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
                raise errors.UserError(f"{quoted('--' + name)} needs a value.", usage=usage)
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
                raise errors.UserError(f"Missing `{param.name}`.", usage=usage)
            args[param.name] = _default(param)
            continue
        try:
            args[param.name] = _convert(param, raw, catalog, args)
        except errors.UserError as exc:
            raise errors.UserError(exc.message, usage=usage) from exc
        except ValueError as exc:
            message = str(exc)  # some reasons end in a sentence of their own ("Did you mean …?")
            raise errors.UserError(message if message.endswith((".", "?")) else f"{message}.", usage=usage) from exc
    if remaining:
        raise errors.UserError(f"Too many arguments: {quoted(' '.join(remaining[:5]))}.", usage=usage)
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
        raise errors.UserError("Which procedure? Try `/runbook help`.")
    name, rest = tokens[0].lower(), tokens[1:]
    procedure = procedures.get(name)
    if procedure is None:
        raise unknown_name_error("procedure", name, list(procedures), usage="/runbook help")
    return bind_arguments(procedure, rest, catalog)
