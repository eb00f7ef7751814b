"""Making user text safe for Slack mrkdwn.

Escaping `&`, `<`, `>` (in that order) turns `<!channel>`, `<@U123>` and
`<http://x|y>` typed by a user into visible text instead of pings and links.
"""

from __future__ import annotations

from bot.text import escape


def code(text: object) -> str:
    """Inline code with user text: escaped, and backticks removed so it cannot close the span."""
    return "`" + escape(text).replace("`", "'") + "`"


def preformatted(text: str, *, limit: int = 2900) -> str:
    """A ``` block of escaped text that fits in one section (3000 chars) with room for the fences."""
    body = escape(text).replace("```", "'''")
    if len(body) > limit:
        body = body[: limit - 14] + "\n… (truncated)"
    return f"```{body}```"


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["code", "escape", "preformatted", "truncate"]
