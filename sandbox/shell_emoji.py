"""Slack emoji shortcodes as Unicode, for the terminal (`:white_check_mark:` → ✅).

Slack renders shortcodes in mrkdwn and in plain_text with `emoji: true`; a terminal shows them as
words. The table covers the codes the bot's messages and templates use plus common ones people type;
a code not in it stays as written, so a time like `10:00+01:00` is never mistaken for one.
"""

from __future__ import annotations

import re
from typing import Final

EMOJI: Final = {
    "alarm_clock": "⏰",
    "arrows_counterclockwise": "🔄",
    "bar_chart": "📊",
    "bell": "🔔",
    "calendar": "📆",
    "chart_with_upwards_trend": "📈",
    "construction": "🚧",
    "eyes": "👀",
    "fire": "🔥",
    "heavy_check_mark": "✔️",
    "hourglass_flowing_sand": "⏳",
    "information_source": "ℹ️",
    "large_blue_circle": "🔵",
    "large_green_circle": "🟢",
    "large_yellow_circle": "🟡",
    "lock": "🔒",
    "mag": "🔍",
    "memo": "📝",
    "no_entry": "⛔",
    "no_entry_sign": "🚫",
    "page_facing_up": "📄",
    "red_circle": "🔴",
    "rocket": "🚀",
    "rotating_light": "🚨",
    "tada": "🎉",
    "warning": "⚠️",
    "white_check_mark": "✅",
    "white_circle": "⚪",
    "wrench": "🔧",
    "x": "❌",
}
_SHORTCODE: Final = re.compile(r":([a-z0-9_+-]+):")


def emojize(text: str) -> str:
    """Known shortcodes replaced by their emoji; unknown ones left as they are."""
    return _SHORTCODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)
