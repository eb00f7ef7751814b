"""Block Kit validation the way Slack's API does it, as pure functions.

slack_sdk validates only the objects it builds, at ``to_dict()``; plain dict blocks are
never checked, and even parsed ones miss some of Slack's limits (header must be
plain_text, section fields ≤ 2000, unknown properties, duplicate ids). So this module
runs both: an explicit walk over the limits Slack documents (errors carry a JSON path
like ``blocks[3].elements[0].text``) and slack_sdk's own parse + recursive validation.

The Slack fake answers ``invalid_blocks`` with these messages; unit tests of our Block
Kit builders call the same functions directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_MESSAGE_BLOCKS: Final = 50
MAX_VIEW_BLOCKS: Final = 100
MAX_SECTION_TEXT: Final = 3000
MAX_SECTION_FIELDS: Final = 10
MAX_SECTION_FIELD_TEXT: Final = 2000
MAX_HEADER_TEXT: Final = 150
MAX_BUTTON_TEXT: Final = 75
MAX_BUTTON_VALUE: Final = 2000
MAX_BUTTON_URL: Final = 3000
MAX_ACTION_ID: Final = 255
MAX_BLOCK_ID: Final = 255
MAX_ACTIONS_ELEMENTS: Final = 25
MAX_CONTEXT_ELEMENTS: Final = 10
MAX_CONFIRM_TITLE: Final = 100
MAX_CONFIRM_TEXT: Final = 300
MAX_CONFIRM_BUTTON: Final = 30
MAX_INPUT_LABEL: Final = 2000
MAX_VIEW_TITLE: Final = 24
MAX_PRIVATE_METADATA: Final = 3000
MAX_CALLBACK_ID: Final = 255

# Keys Slack accepts per block/element type. Slack rejects unknown properties with
# invalid_blocks while slack_sdk silently drops them, so a typo would pass locally and
# fail in production. Types not listed here are not checked for unknown keys.
_ALLOWED_KEYS: Final[Mapping[str, frozenset[str]]] = {
    "section": frozenset({"type", "block_id", "text", "fields", "accessory", "expand"}),
    "header": frozenset({"type", "block_id", "text"}),
    "actions": frozenset({"type", "block_id", "elements"}),
    "context": frozenset({"type", "block_id", "elements"}),
    "divider": frozenset({"type", "block_id"}),
    "input": frozenset({"type", "block_id", "label", "element", "dispatch_action", "hint", "optional"}),
    "button": frozenset({"type", "text", "action_id", "url", "value", "style", "confirm", "accessibility_label"}),
}
_KNOWN_BLOCK_TYPES: Final = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "video",
        "call",
        "table",
        "context_actions",
    }
)
_TEXT_TYPES: Final = frozenset({"plain_text", "mrkdwn"})
_BUTTON_STYLES: Final = frozenset({"primary", "danger"})


class _Walk:
    """Collects problems while walking one message's or view's blocks."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.action_ids: dict[str, str] = {}
        self.block_ids: dict[str, str] = {}

    def err(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def text(self, path: str, obj: object, *, limit: int, plain_only: bool = False) -> None:
        if not isinstance(obj, Mapping):
            self.err(path, "must be a text object")
            return
        kind = obj.get("type")
        if kind not in _TEXT_TYPES:
            self.err(path, f"type must be plain_text or mrkdwn, got {kind!r}")
        elif plain_only and kind != "plain_text":
            self.err(path, "must be plain_text")
        value = obj.get("text")
        if not isinstance(value, str) or not value:
            self.err(path, "text must be a non-empty string")
        elif len(value) > limit:
            self.err(path, f"text is {len(value)} characters, limit {limit}")

    def unknown_keys(self, path: str, obj: Mapping[str, Any]) -> None:
        allowed = _ALLOWED_KEYS.get(str(obj.get("type")))
        if allowed is not None:
            extra = sorted(set(obj) - allowed)
            if extra:
                self.err(path, f"unknown properties {extra}")

    def action_id(self, path: str, element: Mapping[str, Any]) -> None:
        aid = element.get("action_id")
        if aid is None:
            return
        if not isinstance(aid, str) or not aid:
            self.err(f"{path}.action_id", "must be a non-empty string")
            return
        if len(aid) > MAX_ACTION_ID:
            self.err(f"{path}.action_id", f"is {len(aid)} characters, limit {MAX_ACTION_ID}")
        # Slack wants action_ids unique within their block; two input blocks may both use "value".
        key = f"{path.split('.', 1)[0]}:{aid}"
        if key in self.action_ids:
            self.err(f"{path}.action_id", f"duplicate action_id {aid!r} (also at {self.action_ids[key]})")
        else:
            self.action_ids[key] = path

    def confirm(self, path: str, obj: object) -> None:
        if not isinstance(obj, Mapping):
            self.err(path, "must be a confirmation dialog object")
            return
        self.text(f"{path}.title", obj.get("title"), limit=MAX_CONFIRM_TITLE, plain_only=True)
        # Slack's docs say plain_text, but slack_sdk's ConfirmObject emits mrkdwn by default and
        # Slack accepts it; rejecting it here would only fail builders that work in production.
        self.text(f"{path}.text", obj.get("text"), limit=MAX_CONFIRM_TEXT)
        self.text(f"{path}.confirm", obj.get("confirm"), limit=MAX_CONFIRM_BUTTON, plain_only=True)
        self.text(f"{path}.deny", obj.get("deny"), limit=MAX_CONFIRM_BUTTON, plain_only=True)
        style = obj.get("style")
        if style is not None and style not in _BUTTON_STYLES:
            self.err(f"{path}.style", f"must be primary or danger, got {style!r}")

    def element(self, path: str, element: object) -> None:
        if not isinstance(element, Mapping) or not isinstance(element.get("type"), str):
            self.err(path, "must be an object with a string type")
            return
        self.unknown_keys(path, element)
        self.action_id(path, element)
        if "confirm" in element:
            self.confirm(f"{path}.confirm", element["confirm"])
        if element["type"] != "button":
            return
        self.text(f"{path}.text", element.get("text"), limit=MAX_BUTTON_TEXT, plain_only=True)
        value = element.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > MAX_BUTTON_VALUE):
            self.err(f"{path}.value", f"must be a string of at most {MAX_BUTTON_VALUE} characters")
        url = element.get("url")
        if url is not None and (not isinstance(url, str) or len(url) > MAX_BUTTON_URL):
            self.err(f"{path}.url", f"must be a string of at most {MAX_BUTTON_URL} characters")
        style = element.get("style")
        if style is not None and style not in _BUTTON_STYLES:
            self.err(f"{path}.style", f"must be primary or danger, got {style!r}")

    def block(self, path: str, block: object) -> None:
        if not isinstance(block, Mapping):
            self.err(path, "must be an object")
            return
        kind = block.get("type")
        if kind not in _KNOWN_BLOCK_TYPES:
            self.err(path, f"unknown block type {kind!r}")
            return
        self.unknown_keys(path, block)
        bid = block.get("block_id")
        if bid is not None:
            if not isinstance(bid, str) or not bid or len(bid) > MAX_BLOCK_ID:
                self.err(f"{path}.block_id", f"must be a string of 1–{MAX_BLOCK_ID} characters")
            elif bid in self.block_ids:
                self.err(f"{path}.block_id", f"duplicate block_id {bid!r} (also at {self.block_ids[bid]})")
            else:
                self.block_ids[bid] = path
        if kind == "section":
            self._section(path, block)
        elif kind == "header":
            self.text(f"{path}.text", block.get("text"), limit=MAX_HEADER_TEXT, plain_only=True)
        elif kind == "actions":
            self._elements(path, block, limit=MAX_ACTIONS_ELEMENTS, texts_allowed=False)
        elif kind == "context":
            self._elements(path, block, limit=MAX_CONTEXT_ELEMENTS, texts_allowed=True)
        elif kind == "input":
            self.text(f"{path}.label", block.get("label"), limit=MAX_INPUT_LABEL, plain_only=True)
            self.element(f"{path}.element", block.get("element"))

    def _section(self, path: str, block: Mapping[str, Any]) -> None:
        text, fields = block.get("text"), block.get("fields")
        if text is None and fields is None:
            self.err(path, "section needs text or fields")
        if text is not None:
            self.text(f"{path}.text", text, limit=MAX_SECTION_TEXT)
        if fields is not None:
            if not isinstance(fields, list) or not 1 <= len(fields) <= MAX_SECTION_FIELDS:
                self.err(f"{path}.fields", f"must be a list of 1–{MAX_SECTION_FIELDS} text objects")
            else:
                for i, field in enumerate(fields):
                    self.text(f"{path}.fields[{i}]", field, limit=MAX_SECTION_FIELD_TEXT)
        if "accessory" in block:
            self.element(f"{path}.accessory", block["accessory"])

    def _elements(self, path: str, block: Mapping[str, Any], *, limit: int, texts_allowed: bool) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            self.err(f"{path}.elements", "must be a non-empty list")
            return
        if len(elements) > limit:
            self.err(f"{path}.elements", f"has {len(elements)} elements, limit {limit}")
        for i, element in enumerate(elements):
            epath = f"{path}.elements[{i}]"
            if texts_allowed and isinstance(element, Mapping) and element.get("type") in _TEXT_TYPES:
                self.text(epath, element, limit=MAX_SECTION_TEXT)
            else:
                self.element(epath, element)


def _sdk_block_errors(path: str, block: Mapping[str, Any]) -> list[str]:
    """slack_sdk's own checks; to_dict() validates recursively, validate_json() only one level."""
    try:
        parsed = Block.parse(dict(block))
        if parsed is None:
            return [f"{path}: slack_sdk cannot parse block type {block.get('type')!r}"]
        parsed.validate_json()
        parsed.to_dict()
    except Exception as exc:  # slack_sdk raises TypeError/KeyError/... on malformed dicts
        return [f"{path}: {exc}"]
    return []


def _validate_blocks(blocks: object, *, limit: int, prefix: str = "blocks") -> list[str]:
    if not isinstance(blocks, list):
        return [f"{prefix}: must be a list of blocks"]
    walk = _Walk()
    if len(blocks) > limit:
        walk.err(prefix, f"has {len(blocks)} blocks, limit {limit}")
    for i, block in enumerate(blocks):
        path = f"{prefix}[{i}]"
        before = len(walk.errors)
        walk.block(path, block)
        # Only ask slack_sdk when the explicit walk is happy, so one mistake is reported once.
        if len(walk.errors) == before and isinstance(block, Mapping):
            walk.errors.extend(_sdk_block_errors(path, block))
    return walk.errors


def validate_message_blocks(blocks: object) -> list[str]:
    """Problems Slack would reject a message's ``blocks`` for; empty when valid."""
    return _validate_blocks(blocks, limit=MAX_MESSAGE_BLOCKS)


def validate_view(view: object) -> list[str]:
    """Problems Slack would reject a modal/home ``view`` for; empty when valid."""
    if not isinstance(view, Mapping):
        return ["view: must be an object"]
    walk = _Walk()
    if view.get("type") not in ("modal", "home"):
        walk.err("view.type", f"must be modal or home, got {view.get('type')!r}")
    if view.get("type") == "modal":
        walk.text("view.title", view.get("title"), limit=MAX_VIEW_TITLE, plain_only=True)
    for key in ("submit", "close"):
        if view.get(key) is not None:
            walk.text(f"view.{key}", view.get(key), limit=MAX_VIEW_TITLE, plain_only=True)
    metadata = view.get("private_metadata")
    if metadata is not None and (not isinstance(metadata, str) or len(metadata) > MAX_PRIVATE_METADATA):
        walk.err("view.private_metadata", f"must be a string of at most {MAX_PRIVATE_METADATA} characters")
    callback_id = view.get("callback_id")
    if callback_id is not None and (not isinstance(callback_id, str) or len(callback_id) > MAX_CALLBACK_ID):
        walk.err("view.callback_id", f"must be a string of at most {MAX_CALLBACK_ID} characters")
    blocks = view.get("blocks")
    has_input = isinstance(blocks, list) and any(isinstance(b, Mapping) and b.get("type") == "input" for b in blocks)
    if has_input and view.get("type") == "modal" and view.get("submit") is None:
        walk.err("view.submit", "a modal with input blocks needs a submit button")
    errors = walk.errors + _validate_blocks(blocks, limit=MAX_VIEW_BLOCKS, prefix="view.blocks")
    if not errors:
        try:
            View(**dict(view)).to_dict()
        except Exception as exc:  # see _sdk_block_errors
            errors.append(f"view: {exc}")
    return errors


def iter_elements(blocks: object) -> Iterator[tuple[str | None, Mapping[str, Any]]]:
    """Every interactive element in ``blocks`` with its block's block_id (accessories included)."""
    if not isinstance(blocks, list):
        return
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        block_id = block.get("block_id")
        bid = block_id if isinstance(block_id, str) else None
        candidates: list[object] = []
        if isinstance(block.get("elements"), list):
            candidates.extend(block["elements"])
        for key in ("accessory", "element"):
            if key in block:
                candidates.append(block[key])
        for element in candidates:
            if isinstance(element, Mapping) and "action_id" in element:
                yield bid, element
