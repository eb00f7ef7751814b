"""Making user text safe for Slack mrkdwn.

Escaping `&`, `<`, `>` (in that order) turns `<!channel>`, `<@U123>` and
`<http://x|y>` typed by a user into visible text instead of pings and links.
"""

from __future__ import annotations

import re

from bot import errors
from bot.text import escape

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def code(text: object) -> str:
    """Inline code with user text: escaped, and backticks removed so it cannot close the span."""
    return "`" + escape(text).replace("`", "'") + "`"


def preformatted(text: str, *, limit: int = 2900) -> str:
    """The inside of a ``` block (the template writes the fences): escaped, fences in the text
    neutralised, and cut to fit one section (3000 chars) with room for the fences and a few words."""
    body = escape(text).replace("```", "'''")
    if len(body) > limit:
        body = body[: limit - 14] + "\n… (truncated)"
    return body


def mention(user_id: str) -> str:
    """`<@U…>` for a Slack user id; anything else is shown as escaped text, so it can never ping."""
    return f"<@{user_id}>" if USER_ID.match(user_id) else escape(user_id)


def channel_link(channel_id: str) -> str:
    """`<#C…>` for a Slack channel id; anything else is shown as escaped text."""
    return f"<#{channel_id}>" if CHANNEL_ID.match(channel_id) else escape(channel_id)


def field(value: errors.Field) -> str:
    """A phrase's field in mrkdwn (Templates.phrase): text escaped, people mentioned, channels linked,
    names as code, so a field can never ping or link."""
    if isinstance(value, errors.User):
        return mention(value.id)
    if isinstance(value, errors.Channel):
        return channel_link(value.id)
    if isinstance(value, errors.Code):
        return code(value.text)
    return escape(value)


__all__ = ["channel_link", "code", "escape", "field", "mention", "preformatted"]
