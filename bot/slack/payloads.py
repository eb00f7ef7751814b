"""What kind of Slack request this is, and from whom: the few fields logs and metrics need."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def request_fields(body: Any) -> dict[str, str]:
    """kind, team, user, channel and command/action of a verified request, from Bolt's parsed body.

    Never raises: anything unexpected is simply kind "other" (Bolt then answers it).
    """
    if not isinstance(body, Mapping):
        return {"kind": "other"}
    if "command" in body:
        return {
            "kind": "slash_command",
            "team": str(body.get("team_id", "")),
            "user": str(body.get("user_id", "")),
            "channel": str(body.get("channel_id", "")),
            "command": str(body.get("command", "")),
        }
    kind = str(body.get("type", ""))
    if kind in ("event_callback", "url_verification", "app_rate_limited"):
        event = _dict(body.get("event"))
        return {
            "kind": "event",
            "team": str(body.get("team_id", "")),
            "user": str(event.get("user", "")),
            "channel": str(event.get("channel", "")),
            "command": str(event.get("type", kind)),
        }
    if kind in ("block_actions", "view_submission"):
        actions = body.get("actions") or [{}]
        action = _dict(actions[0]) if isinstance(actions, list) and actions else {}
        view = _dict(body.get("view"))
        return {
            "kind": kind,
            "team": str(_dict(body.get("team")).get("id", "")),
            "user": str(_dict(body.get("user")).get("id", "")),
            "channel": str(_dict(body.get("channel")).get("id", "")),
            "command": str(action.get("action_id") or view.get("callback_id") or ""),
        }
    return {"kind": "other"}
