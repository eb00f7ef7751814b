"""Showing user-typed text back safely.

Messages built in the domain (errors that quote what the user typed) end up in
Slack mrkdwn, where `<!channel>` pings and `<http://x|y>` links. Escaping `&`,
`<`, `>` (in that order) makes them plain text wherever the message goes.
"""

from __future__ import annotations

from bot import errors


def escape(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quoted(text: object, *, limit: int = 80) -> str:
    """User text as inline code: escaped, shortened, and unable to close the code span."""
    shown = escape(text).replace("`", "'")
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return f"`{shown}`"


def _unstorable(text: str) -> bool:
    # PostgreSQL text cannot hold NUL, and UTF-8 cannot encode a lone surrogate (JSON "\ud800" decodes to one).
    return "\x00" in text or any("\ud800" <= c <= "\udfff" for c in text)


def checked(field: str, text: str, *, max_chars: int) -> str:
    """User text about to be stored, stripped; a UserError naming `field` when it cannot or must not be.

    Slack enforces a modal's max_length only in its own client, so the server checks it again.
    """
    stripped = text.strip()
    if _unstorable(stripped):
        raise errors.UserError("text_unstorable", field=field)
    if len(stripped) > max_chars:
        raise errors.UserError("text_too_long", field=field, length=len(stripped), limit=max_chars)
    return stripped
