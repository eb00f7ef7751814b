"""What a refusal names, read as data: the users, groups, channels and quoted names in its message.

Tests assert these, never the sentences around them: the wording belongs to the chat surface and its
templates. A user reads `<@U…>` in chat markup and `@U…` in plain text; both are matched here, as are
`<#C…>` and `#C…` for channels and backticks for roles and procedures.
"""

from __future__ import annotations

import itertools
import re

from bot import errors

# Anything a message names: a quoted role or procedure, a user or group, a channel.
NAMED = re.compile(r"`[^`]+`|@[A-Za-z0-9][A-Za-z0-9-]*|#C[A-Z0-9]+")


def users(error: errors.UserError) -> set[str]:
    """User ids; capitalised, unlike group handles (so a mention of a missing user, `@None`, shows too)."""
    return set(re.findall(r"@([A-Z][A-Za-z0-9]*)\b", error.message))


def groups(error: errors.UserError) -> set[str]:
    return set(re.findall(r"@([a-z][a-z0-9-]*)", error.message))


def channels(error: errors.UserError) -> set[str]:
    return set(re.findall(r"#(C[A-Z0-9]+)\b", error.message))


def quoted(error: errors.UserError) -> set[str]:
    """Roles and procedures the message names (shown as inline code)."""
    return set(re.findall(r"`([^`]+)`", error.message))


def run_together(error: errors.UserError) -> list[str]:
    """Names with nothing between them (`a``b`, @U1@U2): in chat they read as one, so a list of them needs words
    or commas between. Empty when every name stands apart."""
    found = list(NAMED.finditer(error.message))
    return [first.group() + then.group() for first, then in itertools.pairwise(found) if first.end() == then.start()]
