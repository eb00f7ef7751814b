"""What each `/runbook` template receives (templates/runbook_*.yml.j2).

Every value that came from a user, the catalog or a target system is escaped here, once, so a
template cannot forget to: `shown` for mrkdwn text, `in_code` for text inside a code span (which a
backtick could otherwise close). People become mentions only through bot/slack/mrkdwn.mention, which
checks the id. The templates hold the words; this module only turns records into values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from bot import errors
from bot.actions.registry import ActionResult, Change, Chart, Label
from bot.catalog import Catalog
from bot.comms.contexts import CONTROL, safe
from bot.ids import ActionId, BlockId
from bot.runbooks.engine import PendingOutcome, ReadOnlyOutcome
from bot.runbooks.executions import Execution, State, StepRecord
from bot.runbooks.model import Procedure
from bot.runbooks.policy import APPROVER_ROLE, EMERGENCY_ARG
from bot.slack import breakglass, mrkdwn
from bot.slack.mrkdwn import channel_link, mention

# A section holds 3000 characters; a single value may fill one (the renderer cuts what overflows).
VALUE_LIMIT = 3000


def shown(text: object, limit: int = VALUE_LIMIT) -> str:
    """Escaped for mrkdwn, control characters dropped (YAML refuses some), clipped."""
    return safe(text, limit)


def in_code(text: object, limit: int = VALUE_LIMIT) -> str:
    """Escaped text for inside a `code span`: a backtick in it cannot close the span."""
    return safe(text, limit).replace("`", "'")


Phrases = Callable[[errors.Said, Callable[[errors.Field], str]], str]
"""The phrase book (Templates.phrase): a phrase said with its fields, each shown the given way."""


def _mrkdwn_field(value: errors.Field) -> str:
    return mrkdwn.field(CONTROL.sub("", value) if isinstance(value, str) else value)


def said(phrases: Phrases, label: Label, limit: int = VALUE_LIMIT) -> str:
    """What an action said, in mrkdwn: a phrase's fields escaped (a name can never ping or link), or
    a name as typed, escaped."""
    if isinstance(label, str):
        return shown(label, limit)
    text = phrases(label, _mrkdwn_field)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def said_in_code(phrases: Phrases, label: Label) -> str:
    """What an action said, for inside a `code span`: the phrase as plain text, escaped, no backtick."""
    return in_code(label if isinstance(label, str) else phrases(label, errors.plain_field))


def preformatted(text: str) -> str:
    """Escaped text for inside a ``` block, control characters dropped (YAML refuses some)."""
    return mrkdwn.preformatted(CONTROL.sub("", text))


def shown_args(execution: Execution) -> Mapping[str, Any]:
    """The arguments as the preview recorded them for showing (secret values masked)."""
    recorded = (execution.preview or {}).get("args")
    return recorded if isinstance(recorded, Mapping) else execution.args


def command_text(procedure: str, args: Mapping[str, Any], command: str | None = None) -> str:
    """The command as the user asked for it (stored at request time); rebuilt from args for old rows."""
    if command:
        return command
    return " ".join([procedure, *(str(v) for v in args.values() if v is not None)])


def command(procedure: str, args: Mapping[str, Any], command: str | None = None) -> str:
    """`/runbook …` for inside a code span."""
    return in_code(f"/runbook {command_text(procedure, args, command)}")


def execution_command(execution: Execution) -> str:
    return command(execution.procedure, shown_args(execution), execution.command)


def _changes(phrases: Phrases, changes: Sequence[Change]) -> list[dict[str, str]]:
    return [
        {
            "what": said(phrases, c.what),
            "before": said_in_code(phrases, c.before),
            "after": said_in_code(phrases, c.after),
        }
        for c in changes
    ]


def results(phrases: Phrases, found: Iterable[ActionResult]) -> list[dict[str, Any]]:
    return [
        {
            "summary": said(phrases, r.summary),
            "changes": _changes(phrases, r.changes),
            "details": preformatted(r.details) if r.details else "",
            "chart": _chart(r.chart) if r.chart else None,
        }
        for r in found
    ]


def _chart(chart: Chart) -> dict[str, Any]:
    """A chart's facts for its caption (runbook_macros.j2:chart_caption); the figures are numbers the
    macro formats (None: no latest value, or no threshold crossed)."""
    return {
        "check": shown(chart.check),
        "service": shown(chart.service or ""),
        "window": shown(chart.window),
        "series": chart.series,
        "latest": chart.latest,
        "state": chart.state,
        "limit": chart.limit,
    }


def _procedure_line(p: Procedure) -> dict[str, Any]:
    return {"usage": in_code(p.usage_line()), "summary": shown(p.summary), "destructive": p.destructive}


def help_overview(procedures: Iterable[Procedure], subcommands: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Every procedure, and the subcommands (name, usage) the surfaces added, in the order they were added."""
    return {
        "procedures": [_procedure_line(p) for p in sorted(procedures, key=lambda p: p.name)],
        "subcommands": [{"name": name, "usage": in_code(usage)} for name, usage in subcommands],
    }


def help_procedure(procedure: Procedure) -> dict[str, Any]:
    return {
        **_procedure_line(procedure),
        "name": shown(procedure.name),
        "params": [
            {"name": in_code(p.name), "type": shown(p.type), "required": p.required, "help": shown(p.help)}
            for p in procedure.params
        ],
        "examples": [in_code(e) for e in procedure.examples],
        "roles": [shown(r) for r in procedure.roles],
        "channels": [shown(c) for c in procedure.channels],
        "two_person": procedure.approval == "two_person",
    }


def allowed_list(procedures: Sequence[Procedure]) -> dict[str, Any]:
    return {"procedures": [_procedure_line(p) for p in procedures]}


def read_only_result(phrases: Phrases, outcome: ReadOnlyOutcome, user_id: str) -> dict[str, Any]:
    return {
        "title": shown(command_text(outcome.procedure.name, outcome.args, outcome.command)),
        "results": results(phrases, outcome.results),
        "command": command(outcome.procedure.name, outcome.args, outcome.command),
        "user": mention(user_id),
    }


def _clock_time(execution: Execution) -> str:
    return execution.expires_at.strftime("%H:%M")


def preview(phrases: Phrases, pending: PendingOutcome) -> dict[str, Any]:
    execution, procedure = pending.execution, pending.procedure
    if procedure.approval == "two_person":
        approval = "emergency" if execution.args.get(EMERGENCY_ARG) else "two_person"
    else:
        approval = "requester"
    last = pending.last_interrupted
    return {
        "procedure": shown(procedure.name),
        "procedure_title": procedure.name,  # plain_text (a button's dialog): shown as typed, never parsed
        "service": shown(execution.service or ""),
        "requester": mention(execution.requester),
        "command": execution_command(execution),
        "changes": _changes(phrases, pending.changes),
        "notes": [said(phrases, n) for n in pending.notes],
        "interrupted": None
        if last is None
        else {
            "service": shown(last.service or ""),
            "command": command(last.procedure, shown_args(last)),
            "channel": channel_link(last.channel_id),
            "id": str(last.id),
        },
        "approval": approval,
        "expires": _clock_time(execution),
        "id": str(execution.id),
        "block_id": BlockId.EXECUTION_ACTIONS.value,
        "actions": {"confirm": ActionId.CONFIRM.value, "cancel": ActionId.CANCEL.value},
    }


def _step(step: StepRecord) -> dict[str, Any]:
    return {"ok": step.ok, "label": shown(step.label), "summary": shown(step.summary), "seconds": step.seconds}


def _outcome(execution: Execution) -> dict[str, Any]:
    took = None  # seconds, as a number the template formats
    if execution.started_at and execution.finished_at:
        took = (execution.finished_at - execution.started_at).total_seconds()
    return {
        "id": str(execution.id),
        "state": execution.state.value,
        "final": execution.state.final,
        "command": execution_command(execution),
        "took": took,
        "error": shown(execution.error or ""),  # the template words a missing one
    }


def progress(
    phrases: Phrases,
    execution: Execution,
    procedure: Procedure,
    steps: Sequence[StepRecord],
    current: str | None,
    line: errors.Said | None,
) -> dict[str, Any]:
    why = breakglass.reason(execution)
    details = next((s.details for s in reversed(steps) if s.details), None)
    running = current is not None and execution.state == State.RUNNING
    return {
        **_outcome(execution),
        "procedure": shown(procedure.name),
        "requester": mention(execution.requester),
        "approver": mention(execution.approver) if execution.approver else "",
        "emergency_reason": shown(why) if why is not None else "",
        "steps": [_step(s) for s in steps],
        "current": shown(current) if running else "",
        "current_line": said(phrases, line) if running and line is not None else "",
        "details": preformatted(details) if details and execution.state.final else "",
        "step": min(len(steps) + (0 if execution.state.final else 1), len(procedure.steps)),
        "total": len(procedure.steps),
    }


def closed(execution: Execution, procedure: Procedure, by: str | None) -> dict[str, Any]:
    return {**_outcome(execution), "procedure": shown(procedure.name), "by": mention(by) if by else ""}


def history(
    phrases: Phrases, executions: Sequence[Execution], service: str | None, rollout: ActionResult | None
) -> dict[str, Any]:
    return {
        "service": shown(service or ""),
        "executions": [
            {
                "state": e.state.value,
                "at": f"{e.created_at:%Y-%m-%d %H:%M}",
                "command": execution_command(e),
                "requester": mention(e.requester),
                "approver": mention(e.approver) if e.approver else "",
            }
            for e in executions
        ],
        "rollout": results(phrases, [rollout] if rollout is not None else []),
    }


def approvers(catalog: Catalog) -> tuple[str, ...]:
    """Who a break-glass notice is addressed to: the approver role's people and user groups (the template
    lists them)."""
    role = catalog.roles.get(APPROVER_ROLE)
    if role is None:
        return ()
    return (*(mention(u) for u in role.users), *(f"@{shown(g)}" for g in role.groups))


def breakglass_notice(execution: Execution, why: str, who_approves: Sequence[str]) -> dict[str, Any]:
    return {
        "procedure": shown(execution.procedure),
        "procedure_code": in_code(execution.procedure),
        "service": shown(execution.service or ""),
        "requester": mention(execution.requester),
        "approvers": list(who_approves),
        "reason": shown(why),
        "id": str(execution.id),
    }
