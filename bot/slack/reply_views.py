"""What the shared answers look like: the error box, usage, busy, outage and unexpected-failure
messages every surface sends (templates/reply_*.yml.j2). Values are escaped here for the templates."""

from __future__ import annotations

from bot import errors
from bot.slack import blocks as bk
from bot.slack import mrkdwn
from bot.slack.mrkdwn import escape
from bot.templating import Templates

Message = tuple[str, bk.Blocks]
"""A message's notification text and its blocks."""


def usage_value(usage: str) -> str:
    """A usage line for the templates' inline code: escaped, with no backtick to close the span."""
    return escape(usage).replace("`", "'")


class ReplyViews:
    """Renders the shared answers. Built once by the composition root with the one Templates.

    Like the other hot-path renders they skip slack_sdk validation: check-config and start-up render
    each template with hostile data first."""

    def __init__(self, templates: Templates) -> None:
        self._templates = templates

    def said(self, said: errors.Said) -> str:
        """An error's phrase (templates/phrases.yml) in mrkdwn, its fields escaped, people mentioned."""
        return self._templates.phrase(said, mrkdwn.field)

    def _shown(self, value: str | errors.Said) -> str:
        return self.said(value) if isinstance(value, errors.Said) else escape(value)

    def _message(self, name: str, context: dict[str, object]) -> Message:
        rendered = self._templates.render(name, context, validate=False)
        return rendered.text, rendered.blocks

    def error(self, message: str, usage: str | None = None) -> Message:
        """`message` is mrkdwn: an error's phrase as `said` renders it (its fields escaped)."""
        return self._message("reply_error", {"message": message, "usage": usage_value(usage) if usage else None})

    def usage(self, command: str, usage: str) -> Message:
        """What `/incident help` and `/maintenance help` show (`command` says which): the usage, not
        dressed as a warning."""
        return self._message("reply_usage", {"command": command, "usage": usage_value(usage)})

    def busy(self) -> Message:
        return self._message("reply_busy", {})

    def unexpected(self, doing: str, error_id: str) -> Message:
        """`doing` is mrkdwn ("that click", or user text quoted by bot/text.py:quoted)."""
        return self._message("reply_unexpected", {"doing": doing, "error_id": error_id})

    def unavailable(self, exc: errors.UnavailableError, *, changes: bool) -> Message:
        context = {
            "dependency": self._shown(exc.said_dependency),
            "detail": self._shown(exc.said_detail),
            "changes": changes,
        }
        return self._message("reply_unavailable", context)

    def nothing_to_change(self, message: str) -> Message:
        """A change request whose dry run changes nothing: no buttons, and no request was created.
        `message` is mrkdwn (the error's phrase, see `said`)."""
        return self._message("reply_nothing_to_change", {"message": message})
