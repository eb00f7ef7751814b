"""Answering the person who typed or clicked: short ephemeral errors, and traceable unexpected ones.

Their wording is in templates/reply_*.yml.j2, shared by every surface (bot/slack/reply_views.py); an
error's own words are its phrase in templates/phrases.yml, rendered for Slack by ReplyViews.said."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import structlog

from bot import errors, metrics
from bot.runbooks.engine import Invocation
from bot.slack import blocks as bk
from bot.slack.reply_views import ReplyViews
from bot.slack.webapi import SlackWebApi

log = structlog.get_logger(__name__)


class Replier:
    """Answers one person (ephemeral): errors, busy, outages and unexpected failures.

    Built once by the composition root with the Slack client and the shared answers' views; every
    surface's listeners answer through it (and word their acks with `views`)."""

    def __init__(self, slack: SlackWebApi, views: ReplyViews) -> None:
        self.slack = slack
        self.views = views

    async def error(self, who: Invocation, message: str, usage: str | None = None) -> None:
        """One ephemeral line (plus usage) to the user; never raises, since it is the last resort."""
        await self._reply(who, *self.views.error(message, usage))

    async def busy(self, who: Invocation) -> None:
        await self._reply(who, *self.views.busy())

    async def unexpected(self, who: Invocation, doing: str) -> str:
        """Log the current exception with a fresh error id and show the user that id. Returns the id."""
        error_id = errors.new_error_id()
        log.exception("unexpected error", error_id=error_id, doing=doing, user=who.user_id, channel=who.channel_id)
        await self._reply(who, *self.views.unexpected(doing, error_id))
        return error_id

    async def unavailable(self, who: Invocation, exc: errors.UnavailableError, *, changes: bool) -> None:
        await self._reply(who, *self.views.unavailable(exc, changes=changes))

    async def nothing_to_change(self, who: Invocation, message: str) -> None:
        """A change request whose dry run changes nothing: no buttons, and no request was created."""
        await self._reply(who, *self.views.nothing_to_change(message))

    async def _reply(self, who: Invocation, text: str, blocks: bk.Blocks) -> None:
        try:
            if who.response_url:
                await self.slack.respond(who.response_url, text, blocks, ephemeral=True)
            else:
                await self.slack.post_ephemeral(who.channel_id, who.user_id, text, blocks)
        except errors.BotError:
            log.warning("could not tell the user about an error", user=who.user_id, error=text)


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


@contextlib.asynccontextmanager
async def answering(replier: Replier, who: Invocation, doing: str, *, changes: bool = False) -> AsyncIterator[None]:
    """Work done after the ack: whatever fails ends as one message to the person who asked.

    `changes` says the work would have changed something, so an outage message says nothing changed.
    Cancellation is not caught: shutdown must be able to stop the work.
    """
    try:
        yield
    except errors.NothingToChange as exc:
        await replier.nothing_to_change(who, replier.views.said(exc.said))
    except errors.UserError as exc:
        if isinstance(exc, errors.DeniedError):
            metrics.count_denial(exc.reason)
        await replier.error(who, replier.views.said(exc.said), exc.usage)
    except errors.UnavailableError as exc:
        await replier.unavailable(who, exc, changes=changes)
    except errors.TargetError as exc:
        await replier.error(who, replier.views.said(exc.said))
    except Exception:  # the user gets an error id; the traceback goes to the log
        await replier.unexpected(who, doing)
