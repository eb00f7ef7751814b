"""What `/runbook` messages look like: help, lists, results, previews, progress and outcomes.

Every value that came from a user or a target system is escaped here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.actions.registry import ActionResult, Change
from bot.ids import ActionId, BlockId
from bot.runbooks.engine import PendingOutcome, ReadOnlyOutcome
from bot.runbooks.executions import Execution, State, StepRecord
from bot.runbooks.model import Procedure
from bot.runbooks.policy import EMERGENCY_ARG
from bot.slack import blocks as bk
from bot.slack import breakglass
from bot.slack.mrkdwn import code, escape, preformatted

STATE_ICONS = {
    State.PENDING: ":hourglass_flowing_sand:",
    State.RUNNING: ":arrows_counterclockwise:",
    State.SUCCEEDED: ":white_check_mark:",
    State.FAILED: ":x:",
    State.CANCELLED: ":no_entry_sign:",
    State.EXPIRED: ":alarm_clock:",
    State.INTERRUPTED: ":warning:",
}


def _args_text(args: Mapping[str, Any]) -> str:
    return " ".join(escape(v) for v in args.values() if v is not None)


def shown_args(execution: Execution) -> Mapping[str, Any]:
    """The arguments as the preview recorded them for showing (secret values masked)."""
    shown = (execution.preview or {}).get("args")
    return shown if isinstance(shown, Mapping) else execution.args


def execution_command(execution: Execution) -> str:
    """The command an execution was asked for, secret values masked."""
    return command_line(execution.procedure, shown_args(execution), execution.command)


def command_line(procedure: str, args: Mapping[str, Any], command: str | None = None) -> str:
    """The command as the user asked for it (stored at request time); rebuilt from args for old rows."""
    if command:
        return code(f"/runbook {command}")
    return f"`/runbook {escape(procedure)} {_args_text(args)}`".replace(" `", "`")


def error(message: str, usage: str | None = None) -> bk.Blocks:
    parts = [bk.section(f":warning: {message}")]
    if usage:
        parts.append(bk.context(f"Usage: {code(usage)}"))
    return bk.render(parts)


def help_overview(procedures: Iterable[Procedure]) -> bk.Blocks:
    lines = [
        f"{code(p.usage_line())} · {escape(p.summary)}" + (" :lock:" if p.destructive else "")
        for p in sorted(procedures, key=lambda p: p.name)
    ]
    return bk.render(
        [
            bk.header("Runbook procedures"),
            *[bk.section("\n".join(lines[i : i + 15])) for i in range(0, len(lines), 15)],
            bk.section(
                "`/runbook health [service]` · the health checks, now\n"
                "`/runbook history [service]` · latest executions (and the service's rollout revisions)\n"
                "`/runbook guide [runbook] [section]` · walk through an imported runbook, step by step"
            ),
            bk.context(
                "`/runbook help <procedure>` for details · `/runbook list` for what you may run · "
                ":lock: asks for confirmation first"
            ),
        ]
    )


def help_procedure(procedure: Procedure) -> bk.Blocks:
    params = [
        f"• `{p.name}` ({p.type}{'' if p.required else ', optional'}){' · ' + escape(p.help) if p.help else ''}"
        for p in procedure.params
    ]
    facts = [f"Roles: {', '.join(procedure.roles)}"]
    if procedure.channels:
        facts.append(f"Channels: {', '.join(procedure.channels)}")
    if procedure.destructive:
        facts.append(
            "Asks for confirmation" + (" and a second person's approval" if procedure.approval == "two_person" else "")
        )
    parts = [bk.section(f"*{escape(procedure.name)}* · {escape(procedure.summary)}\n{code(procedure.usage_line())}")]
    if params:
        parts.append(bk.section("\n".join(params)))
    if procedure.examples:
        parts.append(bk.section("Examples:\n" + "\n".join(code(e) for e in procedure.examples)))
    parts.append(bk.context(" · ".join(facts)))
    return bk.render(parts)


def allowed_list(procedures: Sequence[Procedure]) -> bk.Blocks:
    if not procedures:
        return error("You may not run any procedure yet. Ask an admin to add you to a role in the catalog.")
    lines = [f"{code(p.usage_line())} · {escape(p.summary)}" for p in procedures]
    return bk.render(
        [
            bk.section("*What you may run*"),
            *[bk.section("\n".join(lines[i : i + 15])) for i in range(0, len(lines), 15)],
        ]
    )


def _result_blocks(result: ActionResult) -> list[Any]:
    parts = [bk.section(escape(result.summary))]
    if result.changes:
        parts.append(bk.section(_changes_text(result.changes)))
    if result.details:
        parts.append(bk.section(preformatted(result.details)))
    return parts


def read_only_result(outcome: ReadOnlyOutcome, user_id: str) -> tuple[str, bk.Blocks]:
    title = outcome.command or f"{outcome.procedure.name} {_args_text(outcome.args)}".strip()
    parts: list[Any] = []
    for result in outcome.results:
        parts.extend(_result_blocks(result))
    parts.append(bk.context(f"{command_line(outcome.procedure.name, outcome.args, outcome.command)} by <@{user_id}>"))
    text = f"{title}: " + "; ".join(r.summary for r in outcome.results)
    return text[:3000], bk.render(parts)


NOT_ATTACHED = (
    "The whole output could not be attached: I am not a member of this channel. "
    "Invite me (`/invite @runbook-bot`) or run the command where I am."
)


def _changes_text(changes: Sequence[Change]) -> str:
    return "\n".join(f"• {escape(c.what)}: {code(c.before)} → {code(c.after)}" for c in changes)


def preview(pending: PendingOutcome) -> tuple[str, bk.Blocks]:
    execution, procedure = pending.execution, pending.procedure
    who = f"<@{execution.requester}>"
    command = execution_command(execution)
    lines = [f"{STATE_ICONS[State.PENDING]} {who} wants to run {command}"]
    body = _changes_text(pending.changes) if pending.changes else "No field changes reported by the dry run."
    notes = "\n".join(f"_{escape(n)}_" for n in pending.notes if n)
    if pending.last_interrupted is not None:
        notes = "\n".join(filter(None, [_interrupted_warning(pending.last_interrupted), notes]))
    if procedure.approval == "two_person" and execution.args.get(EMERGENCY_ARG):
        ask = (
            "Emergency (break-glass): the requester may run it alone as a `breakglass` member; "
            "approvers are told at once. Otherwise an `approver` other than the requester approves."
        )
        confirm_label = "Approve and run"
    elif procedure.approval == "two_person":
        ask = "Needs approval by an `approver` other than the requester."
        confirm_label = "Approve and run"
    else:
        ask = "The requester (or an approver) may confirm."
        confirm_label = "Confirm"
    expires = _clock_time(execution.expires_at)
    buttons = [
        bk.button(
            confirm_label,
            ActionId.CONFIRM,
            str(execution.id),
            style="danger",
            confirm=bk.confirm_dialog(
                f"Run {procedure.name}?",
                f"This changes {execution.service or 'the target'} now.",
                confirm="Run it",
                deny="Not yet",
            ),
        ),
        bk.button("Cancel", ActionId.CANCEL, str(execution.id)),
    ]
    text = f"{procedure.name} on {execution.service}: waiting for confirmation"
    return text, bk.render(
        [
            bk.section("\n".join(lines)),
            bk.section(f"*Preview (server-side dry run)*\n{body}" + (f"\n{notes}" if notes else "")),
            bk.actions(BlockId.EXECUTION_ACTIONS, buttons),
            bk.context(f"{ask} Expires at {expires} UTC. Request `{execution.id}`"),
        ]
    )


def _interrupted_warning(last: Execution) -> str:
    return (
        f":warning: The last run on {escape(last.service or 'this target')} was interrupted: "
        f"{command_line(last.procedure, shown_args(last))} in <#{last.channel_id}>, request `{last.id}`. "
        "It was not re-run; check `/runbook status` before you confirm."
    )


def _clock_time(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def _step_line(step: StepRecord) -> str:
    icon = ":white_check_mark:" if step.ok else ":x:"
    return f"{icon} {escape(step.label)} · {escape(step.summary)} ({step.seconds:.1f}s)"


def progress(
    execution: Execution,
    procedure: Procedure,
    steps: Sequence[StepRecord],
    current: str | None,
    line: str | None,
) -> tuple[str, bk.Blocks]:
    """The same message, re-rendered after every step: the chat equivalent of a progress bar."""
    total = len(procedure.steps)
    state = execution.state
    header = (
        f"{STATE_ICONS[state]} {execution_command(execution)} · *{state.value}* · requested by <@{execution.requester}>"
    )
    if execution.approver:
        header += f", confirmed by <@{execution.approver}>"
    why = breakglass.reason(execution)
    if why is not None:
        header += f"\n:rotating_light: *Emergency (break-glass), no second approver.* Reason: {escape(why)}"
    lines = [_step_line(s) for s in steps]
    if current is not None and state == State.RUNNING:
        lines.append(f":arrows_counterclockwise: {escape(current)}" + (f" · {escape(line)}" if line else ""))
    parts: list[Any] = [bk.section(header)]
    if lines:
        parts.append(bk.section("\n".join(lines)))
    details = next((s.details for s in reversed(steps) if s.details), None)
    if details and state.final:
        parts.append(bk.section(preformatted(details)))
    footer = f"step {min(len(steps) + (0 if state.final else 1), total)} of {total}"
    if state.final:
        footer = _outcome_footer(execution)
    parts.append(bk.context(footer + f" · request `{execution.id}`"))
    return f"{procedure.name}: {state.value}", bk.render(parts)


def _outcome_footer(execution: Execution) -> str:
    took = ""
    if execution.started_at and execution.finished_at:
        took = f" in {(execution.finished_at - execution.started_at).total_seconds():.1f}s"
    if execution.state == State.SUCCEEDED:
        return f"Done{took}."
    if execution.state == State.FAILED:
        return (
            f"Failed{took}: {escape(execution.error or 'unknown error')}. Nothing after the failed step ran; "
            "check `/runbook status` and the step above before retrying."
        )
    if execution.state == State.INTERRUPTED:
        return (
            "Interrupted: the bot lost track of this run (it stopped, or could not record the end). "
            "It was not re-run; check `/runbook status` and run it again if needed."
        )
    if execution.state == State.EXPIRED:
        return "Expired: nobody confirmed in time. Run the command again if it is still needed."
    if execution.state == State.CANCELLED:
        return "Cancelled; nothing was changed."
    return execution.state.value


def closed(execution: Execution, procedure: Procedure, by: str | None = None) -> tuple[str, bk.Blocks]:
    """A request that ended without running (cancelled, expired, interrupted): no buttons any more."""
    who = f" by <@{by}>" if by else ""
    icon, command = STATE_ICONS[execution.state], execution_command(execution)
    text = f"{icon} {command} · *{execution.state.value}*{who}"
    return f"{procedure.name}: {execution.state.value}", bk.render(
        [bk.section(text), bk.context(_outcome_footer(execution) + f" · request `{execution.id}`")]
    )


def history(executions: Sequence[Execution], service: str | None, rollout: ActionResult | None) -> bk.Blocks:
    title = f"Latest runbook executions{' for ' + escape(service) if service else ''}"
    if executions:
        lines = [
            f"{STATE_ICONS[e.state]} {e.created_at:%Y-%m-%d %H:%M} {execution_command(e)} "
            f"by <@{e.requester}>" + (f", confirmed by <@{e.approver}>" if e.approver else "")
            for e in executions
        ]
        body = "\n".join(lines)
    else:
        body = "None yet."
    parts: list[Any] = [bk.section(f"*{title}*\n{body}")]
    if rollout is not None:
        parts.extend(_result_blocks(rollout))
    return bk.render(parts)


def usage_help(title: str, usage: str) -> bk.Blocks:
    """What `/incident help` and `/maintenance help` show: the usage, not dressed as a warning."""
    return bk.render([bk.section(f"*{escape(title)}*"), bk.context(f"Usage: {code(usage)}")])


def nothing_to_change(message: str) -> bk.Blocks:
    """A change request whose dry run changes nothing: no buttons, and no request was created."""
    return bk.render(
        [
            bk.section(f":information_source: {escape(message)}"),
            bk.context("Nothing to change, so nothing to confirm: no request was created."),
        ]
    )
