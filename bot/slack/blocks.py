"""Block Kit as the Slack surfaces hand it around: every message's blocks come from a template
(bot/templating.py renders, fits and checks them), so here they are plain dicts."""

from __future__ import annotations

from typing import Any

Blocks = list[dict[str, Any]]
