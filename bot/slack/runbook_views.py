"""What `/runbook` messages look like: help, lists, results, previews, progress and outcomes.

Each is a template in templates/runbook_*.yml.j2, so a team can reword them without touching Python;
bot/slack/runbook_contexts.py turns the records into escaped values for them. The short error box
every surface shares is bot/slack/replies.py's Replier (templates/reply_*).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot import errors
from bot.actions.registry import ActionResult
from bot.runbooks.engine import PendingOutcome, ReadOnlyOutcome
from bot.runbooks.executions import Execution, StepRecord
from bot.runbooks.model import Procedure
from bot.slack import blocks as bk
from bot.slack import runbook_contexts as contexts
from bot.slack.subcommands import Subcommand
from bot.templating import Templates


class RunbookViews:
    """Renders the /runbook messages. Built once by the composition root with the one Templates.

    Hot-path messages skip slack_sdk validation (see Templates.render): check-config and start-up
    render every template with hostile data first."""

    def __init__(self, templates: Templates) -> None:
        self._templates = templates

    def _message(self, name: str, context: dict[str, object]) -> tuple[str, bk.Blocks]:
        rendered = self._templates.render(name, context, validate=False)
        return rendered.text, rendered.blocks

    def help_overview(self, procedures: Iterable[Procedure], subcommands: Iterable[Subcommand]) -> bk.Blocks:
        listed = [(c.name, c.usage) for c in subcommands]
        return self._message("runbook_help_overview", contexts.help_overview(procedures, listed))[1]

    def help_procedure(self, procedure: Procedure) -> bk.Blocks:
        return self._message("runbook_help_procedure", contexts.help_procedure(procedure))[1]

    def allowed_list(self, procedures: Sequence[Procedure]) -> tuple[str, bk.Blocks]:
        return self._message("runbook_list", contexts.allowed_list(procedures))

    def read_only_result(self, outcome: ReadOnlyOutcome, user_id: str) -> tuple[str, bk.Blocks]:
        return self._message("runbook_result", contexts.read_only_result(self._templates.phrase, outcome, user_id))

    def preview(self, pending: PendingOutcome) -> tuple[str, bk.Blocks]:
        return self._message("runbook_preview", contexts.preview(self._templates.phrase, pending))

    def progress(
        self,
        execution: Execution,
        procedure: Procedure,
        steps: Sequence[StepRecord],
        current: str | None,
        line: errors.Said | None,
    ) -> tuple[str, bk.Blocks]:
        """The same message, re-rendered after every step: the chat equivalent of a progress bar. The
        running step's latest line is a phrase of the book, its fields escaped."""
        context = contexts.progress(self._templates.phrase, execution, procedure, steps, current, line)
        return self._message("runbook_progress", context)

    def closed(self, execution: Execution, procedure: Procedure, by: str | None = None) -> tuple[str, bk.Blocks]:
        """A request that ended without running (cancelled, expired, interrupted): no buttons any more."""
        return self._message("runbook_closed", contexts.closed(execution, procedure, by))

    def history(
        self, executions: Sequence[Execution], service: str | None, rollout: ActionResult | None
    ) -> tuple[str, bk.Blocks]:
        context = contexts.history(self._templates.phrase, executions, service, rollout)
        return self._message("runbook_history", context)

    def not_attached(self) -> tuple[str, bk.Blocks]:
        """A result answered through response_url: its files need the bot in the channel."""
        return self._message("runbook_not_attached", {})

    def breakglass_notice(self, execution: Execution, why: str, who_approves: tuple[str, ...]) -> tuple[str, bk.Blocks]:
        """To the approvers: a two-person procedure ran on its requester's word alone, and why."""
        return self._message("runbook_breakglass", contexts.breakglass_notice(execution, why, who_approves))
