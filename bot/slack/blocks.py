"""Block Kit building through slack_sdk.models, so every block is validated at to_dict().

Text limits are applied here (truncating with a visible mark) rather than trusting
each caller to remember them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.slack.mrkdwn import truncate

MAX_BLOCKS = 50
SECTION_TEXT = 3000
HEADER_TEXT = 150
BUTTON_TEXT = 75
FIELD_TEXT = 2000
MAX_FIELDS = 10

Blocks = list[dict[str, Any]]


def header(text: str) -> Block:
    return HeaderBlock(text=PlainTextObject(text=truncate(text, HEADER_TEXT), emoji=True))


def section(text: str, *, fields: Sequence[str] = (), block_id: str | None = None) -> Block:
    return SectionBlock(
        text=MarkdownTextObject(text=truncate(text, SECTION_TEXT)) if text else None,
        fields=[MarkdownTextObject(text=truncate(f, FIELD_TEXT)) for f in fields[:MAX_FIELDS]] or None,
        block_id=block_id,
    )


def context(*texts: str) -> Block:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(t, SECTION_TEXT)) for t in texts[:10]])


def button(
    label: str,
    action_id: str,
    value: str,
    *,
    style: str | None = None,
) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=truncate(label, BUTTON_TEXT)),
        action_id=action_id,
        value=value,
        style=style,
    )


def actions(block_id: str, buttons: Sequence[ButtonElement]) -> Block:
    return ActionsBlock(block_id=block_id, elements=list(buttons[:25]))


def render(blocks: Sequence[Block]) -> Blocks:
    """Validated dicts, at most 50 blocks (the last one says what was left out)."""
    chosen = list(blocks)
    if len(chosen) > MAX_BLOCKS:
        left_out = len(chosen) - (MAX_BLOCKS - 1)
        chosen = [*chosen[: MAX_BLOCKS - 1], context(f"… {left_out} more blocks not shown")]
    return [block.to_dict() for block in chosen]
