"""Break-glass: an emergency two-person request confirmed by its own requester (a `breakglass` member).

The run is not held up; instead the approvers are told at once, in the request's thread, who ran what
without them and why (templates/runbook_breakglass.yml.j2), so the second look happens right after
rather than never.
"""

from __future__ import annotations

from bot.runbooks.executions import Execution
from bot.runbooks.policy import EMERGENCY_ARG


def reason(execution: Execution) -> str | None:
    """The emergency reason when this execution was confirmed alone by its requester, else None."""
    given = execution.args.get(EMERGENCY_ARG)
    if not given or execution.approver is None or execution.approver != execution.requester:
        return None
    return str(given)
