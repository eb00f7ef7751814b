"""One `runbook-bot shell` conversation: send what the user typed, wait, show what the bot did.

Everything goes through the real request path: `SlackUser` signs slash commands, clicks
and modal submissions and posts them to the bot's `/slack/events`; the bot answers
through the `SlackFake`, whose records are rendered here as text.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sandbox import shell_forms as forms
from sandbox import shell_render as render
from sandbox.slack_client import BotReply, SlackUser, find_buttons
from sandbox.slack_fake import Message, SlackFake, StoredView

JSON = dict[str, Any]
# How long to wait for the bot's first visible answer: usually milliseconds, but a cold start (first DB
# query, usergroups lookup) takes seconds, and `/runbook health` posts only once every check of the shell
# world has answered (the slow endpoint alone takes 0.8 s). A line that gets its answer returns at once.
FIRST_CALL_WAIT: Final = 20.0
# "Gone quiet": no new Web API call for this long and no execution running. Progress
# updates inside a step are throttled to ~1/s, so this must stay below that only while
# an execution task is known to be running (checked separately).
IDLE: Final = 0.6
MAX_WAIT: Final = 120.0  # an upper bound on one answer, so a script can never hang
POLL: Final = 0.05
SLASH_COMMANDS: Final = ("/runbook", "/incident", "/maintenance")
# Web API calls that change what the user sees (as opposed to lookups like users.info).
VISIBLE_METHODS: Final = frozenset(
    {
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "chat.delete",
        "response_url",
        "views.open",
        "views.push",
        "views.update",
        "files.completeUploadExternal",
    }
)

ReadLine = Callable[[str], Awaitable[str | None]]
Write = Callable[[str], None]


def _executions_running() -> bool:
    """Whether a confirmed procedure is still running (bot/slack/runbook_actions.py names them)."""
    return any(t.get_name().startswith("execution-") and not t.done() for t in asyncio.all_tasks())


@dataclass
class Session:
    fake: SlackFake
    slack: SlackUser
    read: ReadLine
    write: Write
    user_id: str
    channel: str
    # Requests the bot made to the Slack fake and the sandbox cluster: "quiet" means this stopped moving.
    activity: Callable[[], int] = lambda: 0
    # Whether the bot has answered every request so far (its follow-up queue is empty and idle): once it
    # has, and nothing else moves, there is nothing left to wait for.
    bot_idle: Callable[[], bool] = lambda: False
    seen: dict[tuple[str, str], int] = field(default_factory=dict)  # message → versions shown
    seen_views: set[str] = field(default_factory=set)
    choices: list[render.Choice] = field(default_factory=list)  # the last numbered buttons
    with_buttons: list[tuple[str, str]] = field(default_factory=list)  # messages shown with buttons
    errors: list[str] = field(default_factory=list)  # warnings/errors the bot answered this line
    files_dir: Path | None = None  # uploaded files (charts, long logs) are saved here; None: only named
    output: list[str] = field(default_factory=list)  # what this line rendered, for `expect`
    _renumber: bool = True

    @property
    def names(self) -> dict[str, str]:
        """User and channel ids → names, for mentions in rendered text (ids never collide: U… vs C…)."""
        return {**self.fake.channels, **{u.id: u.name for u in self.fake.users.values()}}

    @property
    def user_ids(self) -> dict[str, str]:
        return {u.name: u.id for u in self.fake.users.values()}

    @property
    def user_name(self) -> str:
        return self.fake.user_name(self.user_id)

    @property
    def prompt(self) -> str:
        return f"{self.user_name}@#{self.fake.channel_name(self.channel)}> "

    def begin_line(self) -> None:
        self.errors, self.output, self._renumber = [], [], True

    def show(self, text: str) -> None:
        self.output.append(text)
        self.write(text)

    def fail(self, text: str) -> None:
        self.errors.append(text)
        self.show(f"! {text}")

    def mark_all_seen(self) -> None:
        """Forget nothing, show nothing: used at start-up so only new activity is rendered."""
        for message in self._all_messages():
            self.seen[(message.channel, message.ts)] = len(message.history)
        self.seen_views.update(self.fake.views)

    # ── sending ──────────────────────────────────────────────────────────────

    async def slash(self, command: str, text: str) -> None:
        before = len(self.fake.calls)
        reply = await self.slack.slash_command(text, command=command, user_id=self.user_id, channel_id=self.channel)
        answered = self._show_ack(reply)
        await self.settle(before, expect_calls=not answered)

    async def click(self, word: str) -> None:
        found = self._find_choice(word)
        if found is None:
            self.fail(f"no button {word!r} here; type `help` for what you can do")
            return
        message, choice = found
        if choice.confirm_title:
            # Slack shows a confirmation dialog first; typing the button's label is the answer.
            self.show(f"  ({choice.confirm_title} → yes)")
        before = len(self.fake.calls)
        reply = await self.slack.block_action(
            message, choice.action_id, user_id=self.user_id, channel_id=message.channel
        )
        if reply.status != 200:
            self.fail(f"the bot answered HTTP {reply.status} to the click")
        await self.settle(before, expect_calls=True)

    def _find_choice(self, word: str) -> tuple[Message, render.Choice] | None:
        """A button by its number in the last list, or by label on the newest message showing it."""
        if word.isdigit():
            numbered = next((c for c in self.choices if c.number == int(word)), None)
            candidates = [numbered] if numbered else []
        else:
            candidates = []
            for channel, ts in reversed(self.with_buttons):
                message = self._current(channel, ts)
                if message is None:
                    continue
                candidates.extend(
                    render.Choice(0, b.label, b.action_id, channel, ts)
                    for b in find_buttons(message)
                    if _label_matches(b.label, word)
                )
                if candidates:
                    break
        for choice in candidates:
            message = self._current(choice.channel, choice.ts)
            # The message may have changed since it was shown (buttons removed once confirmed).
            live = [b for b in find_buttons(message)] if message else []
            match = next((b for b in live if b.action_id == choice.action_id), None)
            if message is not None and match is not None:
                confirm = match.element.get("confirm")
                title = render.plain(str((confirm.get("title") or {}).get("text", ""))) if confirm else None
                return message, render.Choice(
                    choice.number, match.label, match.action_id, choice.channel, choice.ts, title or None
                )
        return None

    def _current(self, channel: str, ts: str) -> Message | None:
        message = self.fake.find_message(ts)
        if message is None or message.deleted or message.channel != channel:
            return None
        if message.is_ephemeral and message.ephemeral_to != self.user_id:
            return None
        return message

    # ── waiting and rendering ────────────────────────────────────────────────

    async def settle(self, before: int, *, expect_calls: bool) -> None:
        """Show the bot's answers as they come, until it has gone quiet (bounded by MAX_WAIT).

        First wait (bounded) for something the user would see, since reads against the cluster
        can precede the answer by a while; then until neither Slack nor the cluster has been
        called for IDLE seconds and no execution is running.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAX_WAIT
        with contextlib.suppress(TimeoutError):
            await self.fake.wait_for(
                lambda: any(c.method in VISIBLE_METHODS for c in self.fake.calls[before:]),
                FIRST_CALL_WAIT if expect_calls else IDLE,
            )
        count, quiet_since = -1, loop.time()
        while loop.time() < deadline:
            self.render_new()
            calls = self.fake.calls
            busy = any(c.status == 0 for c in calls[before:]) or _executions_running()
            answered = any(c.method in VISIBLE_METHODS for c in calls[before:])
            if answered and not busy and self.bot_idle():
                break
            if self.activity() != count or busy:
                count, quiet_since = self.activity(), loop.time()
            elif loop.time() - quiet_since >= IDLE:
                break
            await asyncio.sleep(POLL)
        else:
            self.fail(f"the bot was still busy after {MAX_WAIT:.0f}s; stopped waiting")
        self.render_new()
        await self._open_forms()

    def _all_messages(self) -> list[Message]:
        return [
            m
            for ch in list(self.fake.channels)
            for m in self.fake.messages(ch, include_ephemeral=True, include_deleted=True)
        ]

    def render_new(self) -> None:
        """Print every message version the user has not seen yet, oldest change first."""
        pending: list[tuple[float, Message, int]] = []
        for message in self._all_messages():
            key = (message.channel, message.ts)
            shown = self.seen.get(key, 0)
            if len(message.history) <= shown:
                continue
            self.seen[key] = len(message.history)
            if message.deleted or (message.is_ephemeral and message.ephemeral_to != self.user_id):
                continue
            # Only the newest version matters when several arrived between two polls.
            pending.append((message.history[-1].at, message, shown))
        for _, message, shown in sorted(pending, key=lambda p: p[0]):
            self._render_message(message, updated=shown > 0)

    def _render_message(self, message: Message, *, updated: bool) -> None:
        if self._renumber:
            self.choices, self._renumber = [], False
        out = render.render_message(
            message,
            names=self.names,
            channel_name=self.fake.channel_name(message.channel),
            updated=updated,
            first_number=len(self.choices) + 1,
        )
        self.show(out.text)
        for file_id in message.files:
            self.show(render.INDENT + self._save_file(file_id))
        if out.choices:
            self.choices.extend(out.choices)
            key = (message.channel, message.ts)
            if key in self.with_buttons:
                self.with_buttons.remove(key)
            self.with_buttons.append(key)
        if message.is_ephemeral and render.looks_like_error(out.text):
            self.errors.append(out.text)

    def _save_file(self, file_id: str) -> str:
        """A terminal cannot show a chart or a long log inline: the file goes to disk, its path is shown."""
        uploaded = self.fake.files.get(file_id)
        if uploaded is None or uploaded.content is None:
            return f"[file {file_id}: not uploaded]"
        label = f"[file: {uploaded.title or uploaded.filename}, {len(uploaded.content):,} bytes"
        if self.files_dir is None:
            return label + "]"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        path = self.files_dir / f"{uploaded.id}-{Path(uploaded.filename).name}"
        path.write_bytes(uploaded.content)
        return f"{label}, saved to {path}]"

    def _show_ack(self, reply: BotReply) -> bool:
        """Render an ack body (Slack shows it only to the user who typed). True when there was one."""
        if reply.status != 200:
            self.fail(f"the bot answered HTTP {reply.status}: {reply.body[:200]}")
            return True
        try:
            body = reply.json()
        except ValueError:
            body = {"text": reply.body} if reply.body.strip() else None
        if not isinstance(body, Mapping) or not (body.get("text") or body.get("blocks")):
            return False
        out = render.render_content(
            str(body.get("text") or ""),
            list(body.get("blocks") or []),
            names=self.names,
            heading=render.heading(
                self.fake.channel_name(self.channel), ephemeral=body.get("response_type") != "in_channel"
            ),
        )
        self.show(out.text)
        if render.looks_like_error(out.text):
            self.errors.append(out.text)
        return True

    # ── modals ───────────────────────────────────────────────────────────────

    async def _open_forms(self) -> None:
        for stored in list(self.fake.views_for(self.user_id)):
            if stored.id in self.seen_views or stored.closed or stored.view.get("type") != "modal":
                continue
            self.seen_views.add(stored.id)
            await self.fill(stored)

    async def fill(self, stored: StoredView) -> None:
        """Ask for each input of the modal in turn, then submit it as Slack would."""
        view: JSON = stored.view
        errors: Mapping[str, str] = {}
        while True:
            title = render.plain(str((view.get("title") or {}).get("text", "form")))
            self.show(f"[form] {title}  (type `cancel` to close it; `-` leaves an optional field empty)")
            lines, _ = render.render_blocks(
                [b for b in view.get("blocks") or [] if b.get("type") != "input"], names=self.names
            )
            if lines:
                self.show("\n".join(render.INDENT + line for line in lines))
            values: dict[str, dict[str, Any]] = {}
            for item in forms.fields(view):
                if errors and item.block_id in errors:
                    self.show(f"  ! {errors[item.block_id]}")
                answer = await self._ask(item)
                if answer == "cancel":
                    self.show("  (form closed without submitting)")
                    return
                if isinstance(answer, dict):
                    values.setdefault(item.block_id, {})[item.action_id] = answer
            before = len(self.fake.calls)
            reply = await self.slack.view_submission(view, values, user_id=self.user_id)
            body = reply.json() if reply.body.strip().startswith("{") else None
            action = body.get("response_action") if isinstance(body, dict) else None
            if reply.status != 200:
                self.fail(f"the bot answered HTTP {reply.status} to the form")
                return
            if action == "errors" and isinstance(body, dict):
                errors = dict(body.get("errors") or {})
                for message in errors.values():
                    self.errors.append(message)
                continue
            if action in ("update", "push") and isinstance(body, dict) and isinstance(body.get("view"), dict):
                view, errors = body["view"], {}
                continue
            await self.settle(before, expect_calls=True)
            return

    async def _ask(self, item: forms.Field) -> dict[str, Any] | str | None:
        """One field: re-asks until the answer is valid; 'cancel' or None (empty optional) pass through."""
        self.show(item.question())
        while True:
            typed = await self.read("  > ")
            if typed is None or typed.strip() == "cancel":
                return "cancel"
            try:
                return forms.answer(item, "" if typed.strip() == "-" else typed, self.user_ids)
            except ValueError as exc:
                self.fail(str(exc))


def _label_matches(label: str, word: str) -> bool:
    """`confirm` presses "Confirm"; `approve` presses "Approve and run" (a unique prefix is enough)."""
    label, word = label.casefold(), word.casefold().strip()
    return bool(word) and (label == word or label.startswith(word))
