"""Alert groups → Slack messages: one group in full (template `alert_group`), or several groups
that arrived together summarised in one message (template `alert_digest`). The values are
escaped by bot.slack.alert_contexts; the words and the layout are the templates'."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.slack import alert_contexts as contexts
from bot.slack.alert_contexts import Entry
from bot.templating import Templates

__all__ = ["Entry", "render"]


def render(templates: Templates, entries: Sequence[Entry]) -> tuple[str, list[dict[str, Any]]]:
    """Notification text (escaped; shown in push notifications) and validated blocks (≤ 50)."""
    if len(entries) == 1:
        rendered = templates.render("alert_group", contexts.full(entries[0]))
    else:
        rendered = templates.render("alert_digest", contexts.digest(entries))
    return rendered.text, rendered.blocks
