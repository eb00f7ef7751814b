"""Answering the person who typed or clicked: short ephemeral errors, and traceable unexpected ones."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import structlog

from bot import errors, metrics
from bot.runbooks.engine import Invocation
from bot.slack import blocks as bk
from bot.slack import runbook_views as views
from bot.slack.mrkdwn import said
from bot.slack.webapi import SlackWebApi

log = structlog.get_logger(__name__)


async def reply_error(slack: SlackWebApi, who: Invocation, message: str, usage: str | None = None) -> None:
    """One ephemeral line (plus usage) to the user; never raises, since it is the last resort."""
    await _reply(slack, who, message, views.error(message, usage))


async def _reply(slack: SlackWebApi, who: Invocation, message: str, blocks: bk.Blocks) -> None:
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
    log.exception("unexpected error", error_id=error_id, doing=doing, user=who.user_id, channel=who.channel_id)
    await reply_error(
        slack,
        who,
        f"Something went wrong on my side while handling {doing}. "
        f"Nothing further was done. Error id `{error_id}`: give it to the bot's operators.",
    )
    return error_id


def command_invocation(command: dict[str, Any]) -> Invocation:
    """Who typed a slash command, where, and how to answer them."""
    return Invocation(
        user_id=str(command["user_id"]),
        channel_id=str(command["channel_id"]),
        team_id=command.get("team_id"),
        response_url=command.get("response_url"),
    )


def action_invocation(body: dict[str, Any]) -> Invocation:
    """Who clicked a button, in which channel, and how to answer them."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
    return Invocation(
        user_id=str(body["user"]["id"]),
        channel_id=str(channel),
        team_id=(body.get("team") or {}).get("id"),
        response_url=body.get("response_url"),
    )


def clicked_thread(body: dict[str, Any]) -> str | None:
    """The thread of the message whose button was clicked (None at the channel's top level): an answer
    to a click on a thread reply (a health-report detail, a reminder) belongs in that thread."""
    thread = (body.get("container") or {}).get("thread_ts") or (body.get("message") or {}).get("thread_ts")
    return str(thread) if thread else None


def unavailable_text(exc: errors.UnavailableError, *, changes: bool) -> str:
    if changes:
        return (
            f"{exc.dependency} is unavailable ({exc.detail}), so changes are refused until it is back. "
            "Nothing was changed. Read-only commands still work."
        )
    return f"{exc.dependency} is unavailable ({exc.detail}). Try again shortly."


@contextlib.asynccontextmanager
async def answering(slack: SlackWebApi, who: Invocation, doing: str, *, changes: bool = False) -> AsyncIterator[None]:
    """Work done after the ack: whatever fails ends as one message to the person who asked.

    `changes` says the work would have changed something, so an outage message says nothing changed.
    Cancellation is not caught: shutdown must be able to stop the work.
    """
    try:
        yield
    except errors.NothingToChange as exc:
        await _reply(slack, who, exc.message, views.nothing_to_change(exc.message))
    except errors.UserError as exc:
        if isinstance(exc, errors.DeniedError):
            metrics.count_denial(exc.reason)
        await reply_error(slack, who, said(exc.parts), exc.usage)
    except errors.UnavailableError as exc:
        await reply_error(slack, who, unavailable_text(exc, changes=changes))
    except errors.TargetError as exc:
        await reply_error(slack, who, str(exc))
    except Exception:  # the user gets an error id; the traceback goes to the log
        await reply_unexpected(slack, who, doing)
