"""Break-glass: an emergency two-person request confirmed by its own requester (a `breakglass` member).

The run is not held up; instead the approvers are told at once, in the request's thread, who ran what
without them and why, so the second look happens right after rather than never.
"""

from __future__ import annotations

from bot.catalog import Catalog
from bot.runbooks.executions import Execution
from bot.runbooks.policy import APPROVER_ROLE, EMERGENCY_ARG
from bot.slack import blocks as bk
from bot.slack.mrkdwn import escape


def reason(execution: Execution) -> str | None:
    """The emergency reason when this execution was confirmed alone by its requester, else None."""
    given = execution.args.get(EMERGENCY_ARG)
    if not given or execution.approver is None or execution.approver != execution.requester:
        return None
    return str(given)


def approvers(catalog: Catalog) -> str:
    role = catalog.roles.get(APPROVER_ROLE)
    if role is None:
        return "approvers"
    mentions = [f"<@{u}>" for u in role.users] + [f"@{escape(g)}" for g in role.groups]
    return ", ".join(mentions) or "approvers"


def notice(execution: Execution, why: str, who_approves: str) -> tuple[str, bk.Blocks]:
    text = f"Emergency: {execution.procedure} on {execution.service} ran without a second approver"
    body = (
        f":rotating_light: {who_approves}: <@{execution.requester}> ran `{escape(execution.procedure)}` on "
        f"*{escape(execution.service or '')}* as an *emergency*, without a second approver.\n"
        f"*Reason:* {escape(why)}"
    )
    return escape(text), bk.render([bk.section(body), bk.context(f"Request `{execution.id}` · break-glass")])
