"""What `/runbook` and every button that asks for a procedure (suggested, guide steps) share: the
collaborators a request uses and the one way a parsed procedure is requested."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot import errors
from bot.catalog import Catalog
from bot.followups import FollowUps
from bot.runbooks import parser
from bot.runbooks.engine import Engine, Invocation, PendingOutcome
from bot.runbooks.model import Procedure
from bot.runbooks.policy import Policy
from bot.slack import uploads
from bot.slack.replies import Replier
from bot.slack.runbook_views import RunbookViews
from bot.slack.subcommands import Subcommands
from bot.slack.webapi import SlackWebApi


@dataclass(frozen=True)
class RunbookRequests:
    """How a procedure is asked for, typed or clicked; built once by the composition root."""

    slack: SlackWebApi
    catalog: Catalog  # what a parsed argument is checked against
    procedures: Mapping[str, Procedure]
    engine: Engine
    views: RunbookViews  # how its messages look (templates/runbook_*)

    def parse(self, text: str) -> parser.ParsedCommand:
        return parser.parse(text, self.procedures, self.catalog)


@dataclass(frozen=True)
class RunbookRuntime:
    """What `/runbook` uses; built by the composition root."""

    requests: RunbookRequests
    policy: Policy  # who may see what: `list`, `history`
    history_timeout: float  # `history` of one service reads its rollout history from Kubernetes
    followups: FollowUps  # the work after the ack, on a bounded queue
    replier: Replier  # errors, usage, busy and outage answers (templates/reply_*)
    subcommands: Subcommands  # the words answered by the bot itself, each added by the surface that answers it


async def run_parsed(
    rt: RunbookRequests, who: Invocation, parsed: parser.ParsedCommand, *, thread_ts: str | None = None
) -> None:
    """Request a parsed procedure as `who`: run it now (read-only) or post its preview (destructive).

    `thread_ts` answers in that thread (a guide's steps answer in the guide's thread).
    """
    outcome = await rt.engine.request(parsed, who)
    if isinstance(outcome, PendingOutcome):
        text, blocks = rt.views.preview(outcome)
        ts = await rt.slack.post_message(who.channel_id, text, blocks, thread_ts=thread_ts)
        await rt.engine.attach_message(outcome.execution.id, who.channel_id, ts)
        return
    text, blocks = rt.views.read_only_result(outcome, who.user_id)
    try:
        ts = await rt.slack.post_message(who.channel_id, text, blocks, thread_ts=thread_ts)
    except errors.UserError:
        # The bot may not be a member of this channel; the response_url always works, files need membership.
        await rt.slack.respond(who.response_url or "", text, blocks, ephemeral=False)
        if any(r.files for r in outcome.results):
            await rt.slack.respond(who.response_url or "", *rt.views.not_attached())
        return
    files = [f for result in outcome.results for f in result.files]
    await uploads.upload_files(rt.slack, who.channel_id, files, thread_ts=thread_ts or ts)
