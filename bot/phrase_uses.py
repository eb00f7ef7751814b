"""Where the code says each phrase of the book, found by reading bot/'s source (no import, no run).

check-config compares it with templates/phrases.yml both ways: a key the code raises that the book
lacks, a key of the book no code says, and a field a phrase uses that a raise site does not give."""

from __future__ import annotations

import ast
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot import compiled, errors

PACKAGE = Path(__file__).resolve().parent
# The errors whose first argument is a phrase key (UnavailableError names a dependency and a reason,
# which may be data: a network reason, an API's error code, or a phrase).
KEYED = frozenset(
    {"Said", "UserError", "NotFoundError", "DeniedError", "NothingToChange", "TargetError", "ConflictError"}
)
# A format spec that lays out a number: grouping, a precision or a numeric presentation type.
NUMBER_SPEC = re.compile(r"[,_]|\.\d|[bdeEfFgGnoxX%]$")
NOT_FIELDS = frozenset({"usage", "reason"})  # keywords of an error (DeniedError's reason), not of its phrase


@dataclass(frozen=True)
class Use:
    """One place the code says a phrase, and the fields it gives (None: `**fields`, not known here)."""

    key: str
    where: str
    fields: frozenset[str] | None


def _callee(call: ast.Call) -> str:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return call.func.id if isinstance(call.func, ast.Name) else ""


def _says(call: ast.Call) -> bool:
    # errors.Said("key", ...), errors.UserError("key", ...), and every other error that takes a phrase key
    name = _callee(call)
    return name in ("Said", "NothingToChange", "__init__") or name.endswith("Error")


def _may_say(source: str) -> bool:
    return any(call in source for call in ("Error(", "Said(", "NothingToChange(", "Change("))


def _tree(path: Path) -> ast.AST | None:
    source = path.read_text(encoding="utf-8")
    if not _may_say(source):
        return None  # nothing said here: skip the parse (most modules)
    return ast.parse(source, filename=str(path))


def _calls(tree: ast.AST | None) -> Iterator[ast.Call]:
    if tree is not None:
        yield from (node for node in ast.walk(tree) if isinstance(node, ast.Call))


def _uses_of(tree: ast.AST, where: str) -> Iterator[Use]:
    for node in _calls(tree):
        if not (node.args and _says(node)):
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str) and errors.KEY.match(first.value)):
            continue
        given = [k.arg for k in node.keywords]
        not_fields = frozenset() if _callee(node) == "Said" else NOT_FIELDS  # an error's own keywords
        fields = None if None in given else frozenset(k for k in given if k is not None and k not in not_fields)
        yield Use(first.value, f"{where}:{node.lineno}", fields)


# What a module's uses are read with: an entry kept on disk by another version of this reader is never read.
_READER = compiled.digest(Path(__file__).read_bytes(), errors.KEY.pattern)[:16]


def _uses_in(path: Path, root: Path) -> list[Use]:
    """The module's uses; parsing it is most of the cost, so they are kept on disk, named after the
    module's path and source (bot/compiled.py): an edited module is read again."""
    where = str(path.relative_to(root))
    source = path.read_text(encoding="utf-8")
    if not _may_say(source):
        return []  # nothing said here: skip the parse (most modules)
    name = f"uses-{_READER}-{compiled.digest(where, source)}"
    kept = compiled.DISK.read(name)
    if kept is not None:
        try:
            return [Use(key, at, None if fields is None else frozenset(fields)) for key, at, fields in json.loads(kept)]
        except (ValueError, TypeError):  # not an entry this reader wrote: read the source again
            pass
    uses = list(_uses_of(ast.parse(source, filename=str(path)), where))
    rows = [[use.key, use.where, None if use.fields is None else sorted(use.fields)] for use in uses]
    compiled.DISK.write(name, json.dumps(rows).encode())
    return uses


def _sentences_in(path: Path, root: Path) -> Iterator[str]:
    for node in _calls(_tree(path)):
        if _callee(node) == "Change" and any(isinstance(arg, ast.JoinedStr) for arg in node.args):
            # A result's before → after line: a name or state as data, or words as a phrase (errors.Said).
            yield f"{path.relative_to(root)}:{node.lineno}"
            continue
        if not (node.args and _callee(node) in KEYED):
            continue
        first = node.args[0]
        worded = isinstance(first, ast.JoinedStr) or (
            isinstance(first, ast.Constant) and isinstance(first.value, str) and not errors.KEY.match(first.value)
        )
        if worded:
            yield f"{path.relative_to(root)}:{node.lineno}"


def _formats_a_number(value: ast.expr) -> bool:
    """An f-string that formats a figure (`f"{seconds:g}"`, `f"{ratio:.0%}"`, `f"{n:,}"`): the phrase should
    (`'%g' | format(seconds | float)`), so a team shows it its own way. A clock time (`%H:%M`) is not one."""
    if isinstance(value, ast.IfExp):
        return _formats_a_number(value.body) or _formats_a_number(value.orelse)
    if not isinstance(value, ast.JoinedStr):
        return False
    for part in value.values:
        if isinstance(part, ast.FormattedValue) and isinstance(part.format_spec, ast.JoinedStr):
            spec = "".join(str(c.value) for c in part.format_spec.values if isinstance(c, ast.Constant))
            if "%" not in spec[:-1] and NUMBER_SPEC.search(spec):
                return True
    return False


def _figures_in(path: Path, root: Path) -> Iterator[str]:
    for node in _calls(_tree(path)):
        if node.args and _says(node) and any(_formats_a_number(k.value) for k in node.keywords):
            yield f"{path.relative_to(root)}:{node.lineno}"


def figures_formatted_in_python(package: Path = PACKAGE) -> list[str]:
    """Phrases given a figure already formatted as text: each `file:line` of `package`."""
    root = package.parent
    return [where for path in sorted(package.rglob("*.py")) for where in _figures_in(path, root)]


def worded_in_python(package: Path = PACKAGE, *, only: frozenset[str] = frozenset()) -> list[str]:
    """Errors and action results whose words are written in Python (a sentence or an f-string where a
    phrase key belongs, an f-string in a result's Change): each `file:line` of `package`, or only of the
    given relative paths. (An ActionResult's summary and a file's title are typed errors.Said.)"""
    root = package.parent
    return [
        where
        for path in sorted(package.rglob("*.py"))
        if not only or str(path.relative_to(root)) in only
        for where in _sentences_in(path, root)
    ]


@functools.cache
def phrase_uses(package: Path = PACKAGE) -> tuple[Use, ...]:
    """Every place in `package` that says a phrase by its key (read once per process: the source does
    not change under a running bot, and start-up checks it with the templates)."""
    root = package.parent
    return tuple(use for path in sorted(package.rglob("*.py")) for use in _uses_in(path, root))
