"""Modals as terminal forms, for `runbook-bot shell`: one question per input block.

`fields(view)` lists what to ask; `answer(field, typed, users)` turns what was typed into
the `state.values` entry Slack would send for that element, or raises `ValueError` with
a message to show before asking again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.shell_render import plain

JSON = dict[str, Any]


@dataclass(frozen=True)
class Field:
    block_id: str
    action_id: str
    kind: str  # the element type: plain_text_input, static_select, users_select, …
    label: str
    optional: bool
    options: tuple[tuple[str, str], ...]  # (label, value) for selects, radio buttons, checkboxes
    hint: str = ""

    def question(self) -> str:
        """The prompt line, options numbered so `2` or `P2` both work as answers."""
        how = {
            "multi_static_select": "numbers or labels, comma-separated",
            "checkboxes": "numbers or labels, comma-separated",
            "users_select": "alice, bob, carol or a U… id",
            "multi_users_select": "names or U… ids, comma-separated",
            "datepicker": "YYYY-MM-DD",
            "timepicker": "HH:MM",
        }.get(self.kind, "")
        lines = [f"{self.label}{' (optional)' if self.optional else ''}{f' [{how}]' if how else ''}"]
        if self.hint:
            lines.append(f"  {self.hint}")
        lines.extend(f"  [{i}] {label}" for i, (label, _) in enumerate(self.options, start=1))
        return "\n".join(lines)


def _option(obj: object) -> tuple[str, str] | None:
    if not isinstance(obj, Mapping):
        return None
    text = obj.get("text")
    label = str(text.get("text", "")) if isinstance(text, Mapping) else ""
    return label, str(obj.get("value", label))


def fields(view: Mapping[str, Any]) -> list[Field]:
    out: list[Field] = []
    for block in view.get("blocks") or []:
        if not isinstance(block, Mapping) or block.get("type") != "input":
            continue
        element = block.get("element") or {}
        options: list[tuple[str, str]] = []
        for opt in element.get("options") or []:
            parsed = _option(opt)
            if parsed is not None:
                options.append(parsed)
        for group in element.get("option_groups") or []:
            for opt in group.get("options") or []:
                parsed = _option(opt)
                if parsed is not None:
                    options.append(parsed)
        label, hint = block.get("label") or {}, block.get("hint") or {}
        out.append(
            Field(
                block_id=str(block.get("block_id", "")),
                action_id=str(element.get("action_id", "")),
                kind=str(element.get("type", "plain_text_input")),
                label=plain(str(label.get("text", ""))),
                optional=bool(block.get("optional", False)),
                options=tuple(options),
                hint=plain(str(hint.get("text", ""))),
            )
        )
    return out


def _pick(field: Field, word: str) -> tuple[str, str]:
    """An option by number, exact label, value, or unique label prefix (case-insensitive)."""
    if word.isdigit() and 1 <= int(word) <= len(field.options):
        return field.options[int(word) - 1]
    folded = word.casefold()
    for label, value in field.options:
        if folded in (label.casefold(), value.casefold()):
            return label, value
    starts = [o for o in field.options if o[0].casefold().startswith(folded)]
    if len(starts) == 1:
        return starts[0]
    raise ValueError(f"{word!r} is not one of the options; type its number")


def _user(word: str, users: Mapping[str, str]) -> str:
    """A user id from a name (alice) or an id (U0ALICE); `users` maps names to ids."""
    word = word.strip().lstrip("@")
    if word in users.values():
        return word
    if word.casefold() in users:
        return users[word.casefold()]
    if word.startswith("U") and word.isalnum():
        return word
    raise ValueError(f"unknown user {word!r}; try one of {', '.join(sorted(users))}")


def _option_json(label: str, value: str) -> JSON:
    return {"text": {"type": "plain_text", "text": label, "emoji": True}, "value": value}


def answer(field: Field, typed: str, users: Mapping[str, str]) -> JSON | None:
    """The state value for `typed`, or None when an optional field is left empty."""
    typed = typed.strip()
    if not typed:
        if field.optional:
            return None
        raise ValueError("this field is required")
    kind = field.kind
    words = [w.strip() for w in typed.split(",") if w.strip()]
    if kind in ("static_select", "radio_buttons", "external_select"):
        return {"type": kind, "selected_option": _option_json(*_pick(field, typed))}
    if kind in ("multi_static_select", "checkboxes"):
        return {"type": kind, "selected_options": [_option_json(*_pick(field, w)) for w in words]}
    if kind == "users_select":
        return {"type": kind, "selected_user": _user(typed, users)}
    if kind == "multi_users_select":
        return {"type": kind, "selected_users": [_user(w, users) for w in words]}
    if kind in ("conversations_select", "channels_select"):
        key = "selected_conversation" if kind == "conversations_select" else "selected_channel"
        return {"type": kind, key: typed.lstrip("#")}
    if kind == "multi_conversations_select":
        return {"type": kind, "selected_conversations": [w.lstrip("#") for w in words]}
    if kind == "datepicker":
        return {"type": kind, "selected_date": typed}
    if kind == "timepicker":
        return {"type": kind, "selected_time": typed}
    if kind == "number_input":
        return {"type": kind, "value": typed}
    return {"type": kind, "value": typed}
