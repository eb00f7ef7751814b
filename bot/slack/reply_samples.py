"""Hostile sample data for the shared answers (templates/reply_*): check_templates renders each at
start-up and in `check-config`. The values are built the way bot/slack/replies.py builds them, from
user text that would ping, link, close a code span or break YAML if it reached a template unescaped."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot import errors
from bot.slack.mrkdwn import escape, field
from bot.slack.reply_views import usage_value
from bot.slack.runbook_samples import HOSTILE
from bot.text import quoted

# A refusal as `answering` shows it (a phrase with its fields shown by mrkdwn.field): a name as code, text, a channel.
_REFUSAL = f"Unknown service {field(errors.Code(HOSTILE))} ({field(HOSTILE)}); try in {field(errors.Channel(HOSTILE))}"


def sample_contexts() -> dict[str, Callable[[], Mapping[str, Any]]]:
    return {
        "reply_error": lambda: {"message": _REFUSAL * 20, "usage": usage_value(HOSTILE * 20)},
        "reply_usage": lambda: {"command": "incident", "usage": usage_value(HOSTILE * 20)},
        "reply_nothing_to_change": lambda: {"message": escape(HOSTILE * 20)},
        "reply_unexpected": lambda: {"doing": quoted(f"/runbook {HOSTILE}"), "error_id": "E-0123abcd"},
        "reply_unavailable": lambda: {"dependency": escape(HOSTILE), "detail": escape(HOSTILE), "changes": True},
        "reply_busy": dict,
    }
