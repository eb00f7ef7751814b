"""Answering the person who typed or clicked: short ephemeral errors, and traceable unexpected ones."""

from __future__ import annotations

import structlog

from bot import errors
from bot.runbooks.engine import Invocation
from bot.slack import runbook_views as views
from bot.slack.webapi import SlackWebApi

log = structlog.get_logger(__name__)


async def reply_error(slack: SlackWebApi, who: Invocation, message: str, usage: str | None = None) -> None:
    """One ephemeral line (plus usage) to the user; never raises, since it is the last resort."""
    blocks = views.error(message, usage)
    try:
        if who.response_url:
            await slack.respond(who.response_url, message, blocks, ephemeral=True)
        else:
            await slack.post_ephemeral(who.channel_id, who.user_id, message, blocks)
    except errors.BotError:
        log.warning("could not tell the user about an error", user=who.user_id, error=message)


async def reply_unexpected(slack: SlackWebApi, who: Invocation, doing: str) -> str:
    """Log the current exception with a fresh error id and show the user that id. Returns the id."""
    error_id = errors.new_error_id()
    log.exception(
        "unexpected error", error_id=error_id, doing=doing, user=who.user_id, channel=who.channel_id
    )
    await reply_error(
        slack,
        who,
        f"Something went wrong on my side while handling {doing}. "
        f"Nothing further was done. Error id `{error_id}`: give it to the bot's operators.",
    )
    return error_id
