"""Showing user-typed text back safely.

Messages built in the domain (errors that quote what the user typed) end up in
Slack mrkdwn, where `<!channel>` pings and `<http://x|y>` links. Escaping `&`,
`<`, `>` (in that order) makes them plain text wherever the message goes.
"""

from __future__ import annotations


def escape(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quoted(text: object, *, limit: int = 80) -> str:
    """User text as inline code: escaped, shortened, and unable to close the code span."""
    shown = escape(text).replace("`", "'")
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return f"`{shown}`"
