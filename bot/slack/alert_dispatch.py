"""Per-channel queues between the webhook and Slack: flood control, coalescing and retries.

Why a queue per channel: Slack allows about one message per second per channel, and
an Alertmanager storm can deliver dozens of groups at once. Each channel has one
worker task (owned by the bot's TaskOwner) that, once per tick (≥ INTERVAL apart):
- updates the messages of groups already shown (several deliveries of one group
  coalesce into its latest, so an update storm is one chat.update per message);
- posts at most one new message: a single new group in full, or up to DIGEST_MAX
  new groups summarised in one digest message.
A failed Slack call is retried with exponential backoff, a bounded number of times.
Memory is bounded: at most MAX_PENDING groups, and MAX_PENDING_BYTES of them, wait per channel; beyond that the
webhook answers 503 and Alertmanager retries the delivery later (nothing is dropped
silently). The worker ends when its queue is empty.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import structlog

from bot import errors
from bot.alerts import routing
from bot.alerts.payload import Notification
from bot.alerts.refs import AlertRefs, MessageRef
from bot.catalog import Catalog
from bot.runbooks.model import Procedure
from bot.slack import alert_views as views
from bot.slack.webapi import SlackWebApi
from bot.tasks import TaskOwner
from bot.templating import Templates

log = structlog.get_logger(__name__)

INTERVAL_SECONDS = 1.1  # a little over Slack's 1 msg/s per channel, so jitter never makes it 2
DIGEST_MAX = 20  # groups per digest: 20 × (section + actions) stays under Slack's 50 blocks
MAX_PENDING = 500
# A trimmed group is still up to about a megabyte (the webhook's body limit): count bytes, not only groups.
MAX_PENDING_BYTES = 16 * 1024 * 1024
MAX_ATTEMPTS = 6  # 2 + 4 + 8 + 16 + 32 s of backoff, on top of slack_sdk's own retries
MAX_BACKOFF_SECONDS = 60.0
REFUSED_CONTENT = ("invalid_blocks", "invalid_arguments", "msg_too_long", "invalid_attachments")


def _refused_blocks(exc: errors.UnavailableError) -> bool:
    """Slack refused the content, not the call: retrying the same blocks would fail the same way."""
    return any(code in exc.detail for code in REFUSED_CONTENT)


@dataclass
class Pending:
    group: Notification
    attempts: int = 0
    size: int = 0  # bytes of the group as JSON, for the queue's byte budget


@dataclass
class _Tick:
    """What one tick leaves behind: work to retry and whether a Slack call failed."""

    leftovers: list[Pending]
    failed_attempts: int = 0


@dataclass(frozen=True)
class AlertRuntime:
    """What the dispatcher uses; built by the composition root."""

    slack: SlackWebApi
    catalog: Catalog
    procedures: Mapping[str, Procedure]  # which suggestions get a button in which channel
    refs: AlertRefs
    tasks: TaskOwner  # the per-channel workers
    templates: Templates  # alert_group, alert_digest


class AlertDispatcher:
    def __init__(self, rt: AlertRuntime, *, interval: float = INTERVAL_SECONDS, digest_max: int = DIGEST_MAX) -> None:
        self._rt = rt
        self._refs = rt.refs
        self._interval = interval
        self._digest_max = digest_max
        self._queues: dict[str, OrderedDict[str, Pending]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._last_post: dict[str, float] = {}

    def submit(self, channel: str, group: Notification) -> bool:
        """Queue the group's latest state for `channel`; False when the queue is full (caller answers 503)."""
        queue = self._queues.setdefault(channel, OrderedDict())
        if group.group_key not in queue and len(queue) >= MAX_PENDING:
            return False
        size = len(group.to_json())
        replaced = queue.get(group.group_key)
        queued_bytes = sum(p.size for p in queue.values()) - (replaced.size if replaced else 0)
        if queued_bytes + size > MAX_PENDING_BYTES:
            return False
        previous = queue.pop(group.group_key, None)
        # The newest delivery replaces a queued one (it is the group's current state), keeping retry counts.
        queue[group.group_key] = Pending(group, previous.attempts if previous else 0, size)
        if channel not in self._workers:
            self._workers[channel] = self._rt.tasks.spawn(f"alerts-{channel}", self._work(channel))
        return True

    async def _work(self, channel: str) -> None:
        queue = self._queues[channel]
        try:
            while queue:
                batch = list(queue.values())
                queue.clear()
                tick = await self._tick(channel, batch)
                for pending in reversed(tick.leftovers):  # back to the front, unless a newer delivery came
                    key = pending.group.group_key
                    if key not in queue:
                        queue[key] = pending
                        queue.move_to_end(key, last=False)
                if queue:
                    backoff = min(2.0**tick.failed_attempts, MAX_BACKOFF_SECONDS) if tick.failed_attempts else 0
                    await asyncio.sleep(max(self._interval, backoff))
        finally:
            # No await between the empty-queue check and here, so submit() never sees a dying worker.
            self._workers.pop(channel, None)

    def _entry(self, channel: str, group: Notification) -> views.Entry:
        catalog = self._rt.catalog
        allowed = routing.allowed_in(catalog, self._rt.procedures, channel)
        return views.Entry(
            group=group,
            severity=routing.severity_of(catalog, group),
            service=routing.group_service(catalog, group),
            suggestions=routing.suggestions(catalog, group, allowed),
            elsewhere=routing.elsewhere(catalog, self._rt.procedures, group, channel),
        )

    async def _tick(self, channel: str, batch: list[Pending]) -> _Tick:
        updates: dict[MessageRef, list[Pending]] = {}
        new: list[Pending] = []
        for pending in batch:
            ref = await self._shown_in(pending.group)
            (updates.setdefault(ref, []) if ref else new).append(pending)
        tick = _Tick(leftovers=[])
        for ref, pendings in updates.items():
            await self._update(ref, pendings, tick)
        if new:
            chosen, rest = new[: self._digest_max], new[self._digest_max :]
            tick.leftovers += rest
            await self._post(channel, chosen, tick)
        return tick

    async def _shown_in(self, group: Notification) -> MessageRef | None:
        """The message to update, or None to post anew (never shown, Redis down, or firing again after
        it was resolved: a new incident deserves a new message)."""
        try:
            ref = await self._refs.message_of(group.group_key)
            if ref is None:
                return None
            shown = {g.group_key: g for g in await self._refs.groups_in(ref)}
        except errors.UnavailableError:
            log.warning("alert message lookup failed; posting anew", group_key=group.group_key)
            return None
        before = shown.get(group.group_key)
        if before is None or (before.status == "resolved" and group.firing):
            return None
        return ref

    async def _update(self, ref: MessageRef, pendings: list[Pending], tick: _Tick) -> None:
        try:
            groups = {g.group_key: g for g in await self._refs.groups_in(ref)}
            for p in pendings:
                groups[p.group.group_key] = p.group
            text, blocks = views.render(self._rt.templates, [self._entry(ref.channel, g) for g in groups.values()])
            await self._rt.slack.update_message(ref.channel, ref.ts, text, blocks)
            await self._refs.save(ref, list(groups.values()))
        except errors.UserError as exc:  # the message or channel is gone: retrying cannot help
            log.error("alert update refused by Slack; dropped", channel=ref.channel, reason=exc.message)
        except errors.UnavailableError as exc:
            self._retry(pendings, tick, exc)

    async def _post(self, channel: str, pendings: list[Pending], tick: _Tick) -> None:
        wait = self._last_post.get(channel, float("-inf")) + self._interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        groups = [p.group for p in pendings]
        try:
            text, blocks = views.render(self._rt.templates, [self._entry(channel, g) for g in groups])
            self._last_post[channel] = time.monotonic()
            try:
                ts = await self._rt.slack.post_message(channel, text, blocks)
            except errors.UnavailableError as exc:
                if not _refused_blocks(exc):
                    raise
                # A block we built was refused (a bug, or a limit we missed): the text alone still alerts.
                log.error("alert blocks refused by Slack; posting text only", reason=str(exc))
                ts = await self._rt.slack.post_message(channel, text)
        except errors.UserError as exc:
            log.error(
                "alert post refused by Slack; dropped",
                channel=channel,
                reason=exc.message,
                groups=len(groups),
            )
            return
        except errors.UnavailableError as exc:
            self._retry(pendings, tick, exc)
            return
        try:
            await self._refs.save(MessageRef(channel, ts), groups)
        except errors.UnavailableError:
            # Posted but not remembered: the next delivery posts again. A duplicate beats a lost alert.
            log.warning("alert message posted but not recorded", channel=channel, ts=ts)

    def _retry(self, pendings: list[Pending], tick: _Tick, exc: errors.UnavailableError) -> None:
        for p in pendings:
            p.attempts += 1
            if p.attempts >= MAX_ATTEMPTS:
                log.error("alert dropped after retries", group_key=p.group.group_key, reason=str(exc))
                continue
            tick.leftovers.append(p)
            tick.failed_attempts = max(tick.failed_attempts, p.attempts)
        log.warning("alert delivery to Slack failed; will retry", reason=str(exc), groups=len(pendings))
