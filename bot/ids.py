"""Every action_id, block_id and callback_id the bot uses, in one place.

Below every layer: the Slack surfaces match them, and the message templates (bot.comms) and
Block Kit builders (bot.slack.*_views) put them on buttons.
"""

from __future__ import annotations

import enum
import json
import re


class ActionId(enum.StrEnum):
    CONFIRM = "runbook_confirm"
    CANCEL = "runbook_cancel"
    RUN_SUGGESTED = "runbook_run_suggested"  # a procedure suggested by a health report or an alert
    INCIDENT_POST_UPDATE = "incident_post_update"
    INCIDENT_SNOOZE = "incident_snooze"
    GUIDE_OPEN = "guide_open"  # a runbook or a section picked from a guide menu
    GUIDE_STEP = "guide_step"  # a step of an open guide section
    PUBLIC_CONFIRM = "incident_public_confirm"  # post the previewed text to the status page
    PUBLIC_CANCEL = "incident_public_cancel"


class BlockId(enum.StrEnum):
    EXECUTION_ACTIONS = "execution_actions"
    SUGGESTED_ACTIONS = "suggested_actions"


class CallbackId(enum.StrEnum):
    INCIDENT_DECLARE = "incident_declare"
    INCIDENT_UPDATE = "incident_update"
    INCIDENT_RESOLVE = "incident_resolve"


# Slack refuses a message whose action_ids repeat, so the n-th suggestion button in a message is
# `runbook_run_suggested-n` (the first keeps the bare id); one listener matches them all.
SUGGESTION_ACTION = re.compile(rf"^{re.escape(ActionId.RUN_SUGGESTED.value)}(-\d+)?$")


def suggestion_action_id(n: int) -> str:
    return ActionId.RUN_SUGGESTED.value if n == 0 else f"{ActionId.RUN_SUGGESTED.value}-{n}"


def numbered_action(action: ActionId) -> re.Pattern[str]:
    """`guide_step`, `guide_step-1`, …: one listener for the numbered buttons of one message."""
    return re.compile(rf"^{re.escape(action.value)}(-\d+)?$")


def numbered_action_id(action: ActionId, n: int) -> str:
    return action.value if n == 0 else f"{action.value}-{n}"


def suggestion_value(procedure: str, args_text: str) -> str:
    return json.dumps({"p": procedure, "a": args_text}, separators=(",", ":"))
