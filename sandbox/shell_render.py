"""Block Kit as terminal text, for `runbook-bot shell`.

Only what a person needs to follow the conversation: headers, sections (mrkdwn shown
plainly, with Slack's `&lt;` `&gt;` `&amp;` escapes undone), fields, context lines and
buttons as numbered choices. It is not a Slack client; anything it does not know is
shown as `[<type> block]` so nothing silently disappears.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sandbox.shell_emoji import EMOJI, emojize
from sandbox.slack_fake import Message

JSON = dict[str, Any]

# Slack's own escaping of the three characters that would otherwise be markup.
_ENTITIES: Final = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
# <@U123>, <#C123|name>, <!here>, <https://x|label>, <https://x>
_ANGLE: Final = re.compile(r"<([^<>]+)>")
_FENCE: Final = re.compile(r"\n?```\n?")
_BOLD: Final = re.compile(r"(?<![\w*])\*(\S(?:[^*\n]*?\S)?)\*(?![\w*])")
_ITALIC: Final = re.compile(r"(?<![\w_])_(\S(?:[^_\n]*?\S)?)_(?![\w_])")
INDENT: Final = "  "


@dataclass(frozen=True)
class Choice:
    """A button the user can press by number or label, and where it lives."""

    number: int
    label: str
    action_id: str
    channel: str
    ts: str
    confirm_title: str | None = None  # the button asks "are you sure?" first


@dataclass(frozen=True)
class RenderedMessage:
    text: str
    choices: tuple[Choice, ...]


def unescape(text: str) -> str:
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


def plain(text: str, names: Mapping[str, str] | None = None) -> str:
    """mrkdwn → what a reader sees: mentions as @name, #channel, links as `label (url)`, entities undone.

    `names` maps user and channel ids to names.

    Entities are undone last so that an escaped `&lt;@U1&gt;` typed by a user stays literal text.
    """
    names = names or {}

    def angle(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + (label or names.get(target[1:], target[1:]))
        if target.startswith("#"):
            return "#" + (label or names.get(target[1:], target[1:]))
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        return f"{label} ({target})" if label else target

    # Preformatted blocks get their own lines instead of visible ``` fences.
    text = _FENCE.sub("\n", text).strip("\n")
    # *bold* and _italic_ markers are noise in a terminal; `code` stays, it marks exact values.
    text = _ITALIC.sub(r"\1", _BOLD.sub(r"\1", text))
    return emojize(unescape(_ANGLE.sub(angle, text)))


def _text_of(obj: object, names: Mapping[str, str]) -> str:
    """A text object (plain_text or mrkdwn) as plain text; anything else as ''."""
    if not isinstance(obj, Mapping):
        return ""
    raw = str(obj.get("text", ""))
    return plain(raw, names) if obj.get("type") == "mrkdwn" else emojize(raw)


def _rich_text(elements: object) -> str:
    """rich_text blocks nest sections of runs; flatten to their text."""
    if not isinstance(elements, list):
        return ""
    out: list[str] = []
    for el in elements:
        if not isinstance(el, Mapping):
            continue
        if "text" in el and isinstance(el["text"], str):
            out.append(el["text"])
        elif el.get("type") == "user":
            out.append(f"@{el.get('user_id', '')}")
        elif el.get("type") == "link":
            out.append(str(el.get("url", "")))
        elif "elements" in el:
            out.append(_rich_text(el["elements"]))
    return "".join(out)


def _element_summary(element: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """A non-button interactive element (select, date picker, …) in one short phrase."""
    kind = str(element.get("type", "element"))
    placeholder = _text_of(element.get("placeholder"), names)
    return f"({kind.replace('_', ' ')}{': ' + placeholder if placeholder else ''})"


@dataclass
class _Buttons:
    """Buttons seen while rendering one message, numbered from `next_number`."""

    channel: str
    ts: str
    next_number: int
    found: list[Choice]

    def add(self, element: Mapping[str, Any], names: Mapping[str, str]) -> str:
        confirm = element.get("confirm")
        title = _text_of(confirm.get("title"), names) if isinstance(confirm, Mapping) else None
        choice = Choice(
            self.next_number,
            _text_of(element.get("text"), names),
            str(element.get("action_id", "")),
            self.channel,
            self.ts,
            title or None,
        )
        self.found.append(choice)
        self.next_number += 1
        return f"[{choice.number}] {choice.label}"


def _block_lines(block: Mapping[str, Any], names: Mapping[str, str], buttons: _Buttons) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        title = _text_of(block.get("text"), names)
        return [title.upper() if title.isascii() else title, "=" * min(len(title), 60)]
    if kind == "divider":
        return ["-" * 40]
    if kind == "section":
        lines = _text_of(block.get("text"), names).splitlines()
        fields = [_text_of(f, names) for f in block.get("fields") or []]
        # Fields sit in two columns in Slack; pairs on one line keep that reading order.
        for i in range(0, len(fields), 2):
            lines.append("   ".join(f.replace("\n", ": ", 1) for f in fields[i : i + 2]))
        accessory = block.get("accessory")
        if isinstance(accessory, Mapping):
            if accessory.get("type") == "button":
                lines.append(buttons.add(accessory, names))
            elif accessory.get("type") != "image":
                lines.append(_element_summary(accessory, names))
        return lines
    if kind == "context":
        parts = [
            _text_of(el, names) if el.get("type") in ("mrkdwn", "plain_text") else str(el.get("alt_text", ""))
            for el in block.get("elements") or []
            if isinstance(el, Mapping)
        ]
        return ["  " + " ".join(p for p in parts if p)]
    if kind == "actions":
        items = [
            buttons.add(el, names) if el.get("type") == "button" else _element_summary(el, names)
            for el in block.get("elements") or []
            if isinstance(el, Mapping)
        ]
        return ["  ".join(items)]
    if kind == "rich_text":
        return _rich_text(block.get("elements")).splitlines()
    if kind == "image":
        return [f"[image: {block.get('alt_text', '')}]"]
    if kind == "input":
        element = block.get("element") or {}
        return [f"{_text_of(block.get('label'), names)}: {_element_summary(element, names)}"]
    return [f"[{kind} block]"]


def render_blocks(
    blocks: Sequence[Any],
    *,
    names: Mapping[str, str] | None = None,
    channel: str = "",
    ts: str = "",
    first_number: int = 1,
) -> tuple[list[str], list[Choice]]:
    """Lines of text for `blocks` and the buttons in them, numbered from `first_number`."""
    names = names or {}
    buttons = _Buttons(channel, ts, first_number, [])
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Mapping):
            lines.extend(_block_lines(block, names, buttons))
    return lines, buttons.found


def render_message(
    message: Message,
    *,
    names: Mapping[str, str] | None = None,
    channel_name: str = "",
    updated: bool = False,
    first_number: int = 1,
) -> RenderedMessage:
    """One message with a heading line (where, whether only you see it, whether it changed)."""
    return render_content(
        message.text,
        message.blocks,
        names=names,
        channel=message.channel,
        ts=message.ts,
        heading=heading(
            channel_name or message.channel,
            ephemeral=message.is_ephemeral,
            updated=updated,
            thread=message.is_reply,
        ),
        first_number=first_number,
    )


def heading(channel_name: str, *, ephemeral: bool, updated: bool = False, thread: bool = False) -> str:
    where = f"#{channel_name}" + (" (thread)" if thread else "")
    notes = [n for n, on in (("only visible to you", ephemeral), ("updated", updated)) if on]
    return f"[{where}] runbook-bot" + (f" ({', '.join(notes)})" if notes else "") + ":"


def render_content(
    text: str,
    blocks: Sequence[Any],
    *,
    names: Mapping[str, str] | None = None,
    channel: str = "",
    ts: str = "",
    heading: str = "",
    first_number: int = 1,
) -> RenderedMessage:
    """Blocks when there are any (Slack shows `text` only as the notification then), else `text`."""
    if blocks:
        lines, choices = render_blocks(blocks, names=names, channel=channel, ts=ts, first_number=first_number)
    else:
        lines, choices = plain(text, names).splitlines(), []
    body = "\n".join(INDENT + line if line else "" for line in lines)
    return RenderedMessage(f"{heading}\n{body}" if heading else body, tuple(choices))


def looks_like_error(text: str) -> bool:
    """Whether rendered output is one of the bot's warnings or errors (see bot/slack/replies.py)."""
    markers = ("warning", "x", "no_entry")
    shown = [f":{m}:" for m in markers] + [EMOJI[m] for m in markers]  # as typed, and as the terminal shows it
    return any(marker in text for marker in (*shown, "Something went wrong"))
