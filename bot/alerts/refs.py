"""Which Slack message shows which alert group, kept in Redis (through bot.coord) with a TTL.

Two kinds of keys:
- `alerts:group:<sha256(groupKey)>` → {"channel", "ts"}: where the group is shown;
- `alerts:msg:<channel>:<ts>` → the latest delivery of every group in that message,
  so an update can re-render the whole message (a digest shows several groups).
Redis rather than Postgres: this is short-lived routing state, not audit; if it is
lost, the worst case is a second message for a group, never a lost alert.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from bot.alerts.payload import Notification
from bot.coord import Coordinator

TTL_SECONDS = 7 * 24 * 3600  # longer than any sensible Alertmanager repeat_interval


@dataclass(frozen=True)
class MessageRef:
    channel: str
    ts: str


def _group_key(group_key: str) -> str:
    return "alerts:group:" + hashlib.sha256(group_key.encode()).hexdigest()  # groupKey can be long


def _message_key(ref: MessageRef) -> str:
    return f"alerts:msg:{ref.channel}:{ref.ts}"


class AlertRefs:
    def __init__(self, coord: Coordinator) -> None:
        self._coord = coord

    async def message_of(self, group_key: str) -> MessageRef | None:
        """Raises UnavailableError when Redis is down (the caller decides to post anew)."""
        raw = await self._coord.get(_group_key(group_key))
        if raw is None:
            return None
        data = json.loads(raw)
        return MessageRef(channel=str(data["channel"]), ts=str(data["ts"]))

    async def groups_in(self, ref: MessageRef) -> list[Notification]:
        raw = await self._coord.get(_message_key(ref))
        if raw is None:
            return []
        return [Notification.model_validate(item) for item in json.loads(raw)]

    async def save(self, ref: MessageRef, groups: list[Notification]) -> None:
        await self._coord.set(
            _message_key(ref),
            json.dumps([g.model_dump(mode="json", by_alias=True) for g in groups]),
            ttl_seconds=TTL_SECONDS,
        )
        for g in groups:
            await self._coord.set(
                _group_key(g.group_key),
                json.dumps({"channel": ref.channel, "ts": ref.ts}),
                ttl_seconds=TTL_SECONDS,
            )
