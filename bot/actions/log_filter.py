"""`--grep REGEX` for log reads, bounded before any read.

Python's `re` backtracks and has no timeout, so a pattern like `(a+)+$` can take exponential time
on one log line. The bound is structural: a pattern is refused when it is long, repeats a group
that itself repeats or alternates (the shapes that backtrack exponentially), or uses
backreferences; the adapter then matches each line only up to a fixed length. What is left runs in
time proportional to pattern × line, whatever the logs contain.
"""

from __future__ import annotations

import re

from bot import errors

MAX_PATTERN_CHARS = 200
USAGE = "/runbook logs <service> [lines] [--grep REGEX]"
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")


class _Group:
    def __init__(self) -> None:
        self.repeats = False  # holds `*`, `+` or `{n,m}`
        self.alternates = False  # holds `|`


def _refuse(why: errors.Said) -> errors.UserError:
    return errors.UserError("grep_refused", why=why, usage=USAGE)


def _repeats(pattern: str, i: int) -> bool:
    """Whether a quantifier that repeats (not `?`) starts at i."""
    if i >= len(pattern):
        return False
    if pattern[i] in "*+":
        return True
    if pattern[i] == "{":
        match = re.match(r"\{(\d*)(,?)(\d*)\}", pattern[i:])
        return match is not None and (match[2] == "," or int(match[1] or 0) > 1)
    return False


def check(pattern: str) -> None:
    """Raise UserError when the pattern is too long, invalid, or could backtrack exponentially."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise _refuse(errors.Said("grep_too_long", limit=MAX_PATTERN_CHARS))
    try:
        re.compile(pattern)
    except re.error as exc:
        raise _refuse(errors.Said("grep_not_a_regex", error=str(exc))) from None
    if _BACKREFERENCE.search(pattern):
        raise _refuse(errors.Said("grep_backreference"))
    stack = [_Group()]
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            if _repeats(pattern, i + 2):
                stack[-1].repeats = True
            i += 2
            continue
        if char == "[":  # a character class: skip to its closing bracket
            i += 1
            if i < len(pattern) and pattern[i] == "^":
                i += 1
            if i < len(pattern) and pattern[i] == "]":
                i += 1
            while i < len(pattern) and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
            i += 1
            if _repeats(pattern, i):
                stack[-1].repeats = True
            continue
        if char == "(":
            stack.append(_Group())
        elif char == ")":
            inner = stack.pop()
            if _repeats(pattern, i + 1) and (inner.repeats or inner.alternates):
                raise _refuse(errors.Said("grep_nested_repeat"))
            stack[-1].repeats |= inner.repeats or _repeats(pattern, i + 1)
            stack[-1].alternates |= inner.alternates
        elif char == "|":
            stack[-1].alternates = True
        elif _repeats(pattern, i + 1):
            stack[-1].repeats = True
        i += 1


def compiled(pattern: str) -> re.Pattern[str]:
    """The checked pattern, compiled (case-sensitive, like grep)."""
    check(pattern)
    return re.compile(pattern)
