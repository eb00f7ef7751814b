"""Every action_id, block_id and callback_id the bot uses, in one place."""

from __future__ import annotations

import enum


class ActionId(enum.StrEnum):
    CONFIRM = "runbook_confirm"
    CANCEL = "runbook_cancel"
    RUN_SUGGESTED = "runbook_run_suggested"  # a procedure suggested by a health report or an alert
    INCIDENT_POST_UPDATE = "incident_post_update"
    INCIDENT_SNOOZE = "incident_snooze"


class BlockId(enum.StrEnum):
    EXECUTION_ACTIONS = "execution_actions"
    SUGGESTED_ACTIONS = "suggested_actions"


class CallbackId(enum.StrEnum):
    INCIDENT_DECLARE = "incident_declare"
    INCIDENT_UPDATE = "incident_update"
    INCIDENT_RESOLVE = "incident_resolve"
