"""The Block Kit validator, called directly as our builders' unit tests will."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from sandbox.blockkit import validate_message_blocks, validate_view


def section(text: str = "hello") -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(label: str = "Go", action_id: str = "go", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": label}, "action_id": action_id, **extra}


def preview_blocks() -> list[dict[str, Any]]:
    """A preview message like ours, built with slack_sdk.models."""
    blocks = [
        HeaderBlock(text="Scale backend to 5 replicas"),
        SectionBlock(text=MarkdownTextObject(text="*Namespace:* mail-score-production\n*Now:* 3 → *5*")),
        DividerBlock(),
        ActionsBlock(
            block_id="confirm_actions",
            elements=[
                ButtonElement(
                    text="Confirm",
                    action_id="confirm",
                    value="exec-1",
                    style="primary",
                    confirm=ConfirmObject(title="Scale?", text="This changes production.", confirm="Yes"),
                ),
                ButtonElement(text="Cancel", action_id="cancel", value="exec-1"),
            ],
        ),
        ContextBlock(elements=[MarkdownTextObject(text="requested by <@U0ALICE>")]),
    ]
    return [b.to_dict() for b in blocks]


def test_a_preview_built_with_slack_sdk_models_is_valid() -> None:
    assert validate_message_blocks(preview_blocks()) == []


def test_fifty_blocks_are_allowed_and_fifty_one_are_not() -> None:
    assert validate_message_blocks([section()] * 50) == []
    assert any("51 blocks, limit 50" in e for e in validate_message_blocks([section()] * 51))


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        pytest.param([section("x" * 3001)], "blocks[0].text: text is 3001 characters", id="3001-char section"),
        pytest.param(
            [{"type": "actions", "elements": [button("x" * 76)]}],
            "blocks[0].elements[0].text: text is 76 characters, limit 75",
            id="76-char button",
        ),
        pytest.param([{"type": "bogus"}], "unknown block type 'bogus'", id="bad type"),
        pytest.param(
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "limit 150",
            id="151-char header",
        ),
        pytest.param(
            [{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}],
            "must be plain_text",
            id="mrkdwn header",
        ),
        pytest.param(
            [{"type": "actions", "elements": [button(value="v" * 2001)]}],
            "value",
            id="2001-char button value",
        ),
        pytest.param(
            [{"type": "actions", "elements": [button(action_id="a" * 256)]}],
            "action_id",
            id="256-char action_id",
        ),
        pytest.param(
            [{"type": "actions", "elements": [button(action_id=f"a{i}") for i in range(26)]}],
            "26 elements, limit 25",
            id="26 elements in actions",
        ),
        pytest.param(
            [
                {
                    "type": "actions",
                    "elements": [
                        button(
                            confirm={
                                "title": {"type": "plain_text", "text": "t" * 101},
                                "text": {"type": "plain_text", "text": "sure?"},
                                "confirm": {"type": "plain_text", "text": "Yes"},
                                "deny": {"type": "plain_text", "text": "No"},
                            }
                        )
                    ],
                }
            ],
            "confirm.title",
            id="101-char confirm title",
        ),
        pytest.param(
            [{"type": "actions", "elements": [button(action_id="go"), button(action_id="go")]}],
            "duplicate action_id 'go'",
            id="duplicate action_id",
        ),
        pytest.param(
            [{**section(), "block_id": "b"}, {**section(), "block_id": "b"}],
            "duplicate block_id",
            id="duplicate block_id",
        ),
        pytest.param([{**section(), "txt": "typo"}], "unknown properties ['txt']", id="unknown property"),
        pytest.param([{"type": "section", "text": {"type": "mrkdwn", "text": ""}}], "non-empty", id="empty text"),
        pytest.param("not a list", "must be a list", id="not a list"),
    ],
)
def test_invalid_message_blocks_are_reported_with_their_path(blocks: Any, expected: str) -> None:
    errors = validate_message_blocks(blocks)
    assert any(expected in e for e in errors), errors


def test_a_modal_built_with_slack_sdk_models_is_valid() -> None:
    view = View(
        type="modal",
        callback_id="scale_modal",
        title="Scale a service",
        submit="Scale",
        close="Cancel",
        blocks=[
            InputBlock(
                block_id="replicas",
                label="Replicas",
                element=PlainTextInputElement(action_id="replicas_input"),
            )
        ],
    ).to_dict()
    assert validate_view(view) == []


def test_a_modal_allows_one_hundred_blocks_but_not_one_hundred_and_one() -> None:
    def modal(n: int) -> dict[str, Any]:
        return {"type": "modal", "title": {"type": "plain_text", "text": "t"}, "blocks": [section()] * n}

    assert validate_view(modal(100)) == []
    assert any("101 blocks, limit 100" in e for e in validate_view(modal(101)))


def test_a_modal_with_inputs_but_no_submit_button_is_invalid() -> None:
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "t"},
        "blocks": [
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "x"},
                "element": {"type": "plain_text_input", "action_id": "x"},
            }
        ],
    }
    assert any("submit" in e for e in validate_view(view))
