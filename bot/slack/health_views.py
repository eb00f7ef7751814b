"""A health Report → Slack messages: a summary that always fits Slack's limits, details in the thread.

Slack allows 50 blocks per message, 3000 characters per section and 25 elements per actions
block. The summary shows one line per service (worst first) up to a budget of sections, and
up to a budget of button rows; everything else, and the per-check details, go to thread
replies, each of which is packed under the same limits. So the size of the catalog changes
the number of thread replies, never the validity of a message. The words and the layout are
the templates `health_report` (the summary) and `health_detail` (each thread reply).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from bot import errors
from bot.health.model import Report
from bot.slack import health_contexts as contexts
from bot.slack import mrkdwn
from bot.slack.health_contexts import Occasion
from bot.templating import Templates

Message = tuple[str, list[dict[str, Any]]]  # (fallback text, blocks)


@dataclass(frozen=True)
class Rendered:
    summary: Message
    thread: list[Message]


def render(templates: Templates, report: Report, occasion: Occasion, *, procedures: Collection[str]) -> Rendered:
    """Summary + thread replies. Only procedures that exist get a button (a catalog may lack one)."""

    def say(said: errors.Said) -> str:
        return templates.phrase(said, mrkdwn.field)

    summary = templates.render("health_report", contexts.summary(report, occasion, procedures, say))
    replies = [templates.render("health_detail", c) for c in contexts.details(report, occasion, procedures, say)]
    return Rendered((summary.text, summary.blocks), [(r.text, r.blocks) for r in replies])
