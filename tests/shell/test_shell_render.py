"""The shell's renderer and forms, in-process: blocks → text, buttons numbered, escapes undone."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import shell_forms as forms
from sandbox import shell_render as render
from sandbox.slack_fake import Message

NAMES = {"U0ALICE": "alice", "C0OPS": "ops"}


def preview_blocks() -> list[dict[str, Any]]:
    button = {
        "type": "button",
        "action_id": "runbook_confirm",
        "value": "x",
        "text": {"type": "plain_text", "text": "Confirm"},
        "confirm": {
            "title": {"type": "plain_text", "text": "Run scale?"},
            "text": {"type": "plain_text", "text": "sure?"},
            "confirm": {"type": "plain_text", "text": "Run it"},
            "deny": {"type": "plain_text", "text": "Not yet"},
        },
    }
    cancel = {
        "type": "button",
        "action_id": "runbook_cancel",
        "value": "x",
        "text": {"type": "plain_text", "text": "Cancel"},
    }
    return [
        {"type": "header", "text": {"type": "plain_text", "text": "Scale backend"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "<@U0ALICE> wants *this* in <#C0OPS>: a &lt;b&gt; &amp; c"},
            "fields": [{"type": "mrkdwn", "text": "*Before*\n3"}, {"type": "mrkdwn", "text": "*After*\n5"}],
        },
        {"type": "divider"},
        {"type": "actions", "block_id": "execution_actions", "elements": [button, cancel]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Expires at 10:00"}]},
    ]


def test_blocks_become_plain_text_with_numbered_buttons() -> None:
    lines, choices = render.render_blocks(preview_blocks(), names=NAMES, channel="C0OPS", ts="1.1")
    text = "\n".join(lines)
    assert "SCALE BACKEND" in text
    assert "@alice wants this in #ops: a <b> & c" in text
    assert "Before: 3   After: 5" in text
    assert "[1] Confirm  [2] Cancel" in text
    assert "Expires at 10:00" in text
    assert [(c.number, c.label, c.action_id) for c in choices] == [
        (1, "Confirm", "runbook_confirm"),
        (2, "Cancel", "runbook_cancel"),
    ]
    assert choices[0].confirm_title == "Run scale?"
    assert choices[0].ts == "1.1" and choices[0].channel == "C0OPS"


def test_escaped_mention_typed_by_a_user_stays_literal_text() -> None:
    assert render.plain("&lt;@U0ALICE&gt; &amp;lt;", NAMES) == "<@U0ALICE> &lt;"


def test_links_show_label_and_address_and_code_fences_disappear() -> None:
    assert render.plain("see <https://x.example|the docs>") == "see the docs (https://x.example)"
    assert render.plain("```a\nb```") == "a\nb"


def test_updated_ephemeral_message_says_so_in_its_heading() -> None:
    message = Message("C0OPS", "1.2", "hi", [], "U0BOT", "B0BOT", "T0", "chat.postEphemeral", ephemeral_to="U0ALICE")
    out = render.render_message(message, names=NAMES, channel_name="ops", updated=True, first_number=3)
    assert out.text.splitlines()[0] == "[#ops] runbook-bot (only visible to you, updated):"
    assert out.text.splitlines()[1] == "  hi"


def test_numbering_continues_from_the_given_number() -> None:
    _, choices = render.render_blocks(preview_blocks(), first_number=3)
    assert [c.number for c in choices] == [3, 4]


def test_warnings_and_failures_are_recognised_as_errors() -> None:
    assert render.looks_like_error(":warning: Unknown procedure `bogus`.")
    assert not render.looks_like_error(":white_check_mark: scaled")


def modal() -> dict[str, Any]:
    def option(text: str, value: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": text}, "value": value}

    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Declare"},
        "blocks": [
            {
                "type": "input",
                "block_id": "title",
                "label": {"type": "plain_text", "text": "Title"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            },
            {
                "type": "input",
                "block_id": "severity",
                "label": {"type": "plain_text", "text": "Severity"},
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": [option("P1 · outage", "P1"), option("P2 · degraded", "P2")],
                },
            },
            {
                "type": "input",
                "block_id": "services",
                "optional": True,
                "label": {"type": "plain_text", "text": "Services"},
                "element": {
                    "type": "multi_static_select",
                    "action_id": "value",
                    "options": [option("backend", "backend"), option("frontend", "frontend")],
                },
            },
            {
                "type": "input",
                "block_id": "lead",
                "label": {"type": "plain_text", "text": "Lead"},
                "element": {"type": "users_select", "action_id": "value"},
            },
        ],
    }


def test_modal_inputs_become_questions_with_numbered_options() -> None:
    fields = forms.fields(modal())
    assert [(f.block_id, f.kind, f.optional) for f in fields] == [
        ("title", "plain_text_input", False),
        ("severity", "static_select", False),
        ("services", "multi_static_select", True),
        ("lead", "users_select", False),
    ]
    assert "[2] P2 · degraded" in fields[1].question()


def test_answers_become_the_state_values_slack_would_send() -> None:
    title, severity, services, lead = forms.fields(modal())
    users = {"alice": "U0ALICE", "bob": "U0BOB"}
    assert forms.answer(title, "Checkout slow", users) == {"type": "plain_text_input", "value": "Checkout slow"}
    chosen = forms.answer(severity, "2", users)
    assert chosen is not None and chosen["selected_option"]["value"] == "P2"
    chosen = forms.answer(severity, "p1", users)
    assert chosen is not None and chosen["selected_option"]["value"] == "P1"
    many = forms.answer(services, "1, frontend", users)
    assert many is not None and [o["value"] for o in many["selected_options"]] == ["backend", "frontend"]
    assert forms.answer(services, "", users) is None
    assert forms.answer(lead, "bob", users) == {"type": "users_select", "selected_user": "U0BOB"}


def test_a_required_field_or_an_unknown_option_is_asked_again() -> None:
    title, severity, _, lead = forms.fields(modal())
    with pytest.raises(ValueError, match="required"):
        forms.answer(title, "  ", {})
    with pytest.raises(ValueError, match="not one of the options"):
        forms.answer(severity, "P9", {})
    with pytest.raises(ValueError, match="unknown user"):
        forms.answer(lead, "mallory", {"alice": "U0ALICE"})


def test_emoji_shortcodes_render_as_unicode_and_unknown_ones_stay() -> None:
    lines, _ = render.render_blocks(
        [
            {"type": "header", "text": {"type": "plain_text", "text": ":tada: Resolved", "emoji": True}},
            {"type": "section", "text": {"type": "mrkdwn", "text": ":white_check_mark: done at 10:00+01:00 :nope:"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": ":red_circle: *backend* — fail"}]},
            {"type": "divider"},
        ]
    )
    assert lines[0] == "🎉 Resolved"
    assert lines[2] == "✅ done at 10:00+01:00 :nope:"
    assert lines[3] == "  🔴 backend — fail"
    assert lines[4] == "-" * 40


def test_an_error_is_recognised_after_its_emoji_became_unicode() -> None:
    out = render.render_content(":warning: Unknown procedure `bogus`.", [])
    assert out.text.strip() == "⚠️ Unknown procedure `bogus`."
    assert render.looks_like_error(out.text)
    assert not render.looks_like_error(render.render_content(":white_check_mark: scaled", []).text)
