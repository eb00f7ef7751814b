"""Issue 16: the answers every surface shares (error box, usage, busy, outage, unexpected failure,
nothing to change) are templates: valid Block Kit with hostile values, worded as before."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import errors
from bot.app import template_samples
from bot.catalog import Catalog
from bot.settings import PROJECT_ROOT
from bot.slack import reply_samples
from bot.slack.reply_views import ReplyViews
from bot.slack.runbook_views import RunbookViews
from bot.templating import PINGS, SUFFIX, Templates, check_templates
from sandbox import blockkit

TEMPLATES = PROJECT_ROOT / "templates"


def _views() -> ReplyViews:
    return ReplyViews(Templates(TEMPLATES))


def test_every_reply_template_renders_valid_block_kit_with_hostile_values_and_is_checked() -> None:
    templates = Templates(TEMPLATES)
    for name, make in reply_samples.sample_contexts().items():
        context = make()
        rendered = templates.render(name, context)
        assert blockkit.validate_message_blocks(rendered.blocks) == [], name
        assert not [ping for ping in PINGS if ping in json.dumps([rendered.text, rendered.blocks])], name
        assert templates.render(name, context, validate=False) == rendered, name  # the hot path gives the same


def test_every_shipped_reply_template_has_a_hostile_sample_that_check_config_renders(catalog: Catalog) -> None:
    shipped = {p.name.removesuffix(SUFFIX) for p in TEMPLATES.glob(f"reply_*{SUFFIX}")}

    assert shipped == set(reply_samples.sample_contexts())
    assert shipped <= set(template_samples(catalog))
    assert check_templates(TEMPLATES, template_samples(catalog)) == []


def test_an_error_shows_the_message_as_a_warning_and_the_usage_as_escaped_code() -> None:
    text, blocks = _views().error("Unknown service `web`.", "/runbook scale <service> `n`")

    assert text == "Unknown service `web`."
    assert blocks == [
        {"type": "section", "text": {"type": "mrkdwn", "text": ":warning: Unknown service `web`."}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Usage: `/runbook scale &lt;service&gt; 'n'`"}]},
    ]
    assert _views().error("No such execution.")[1] == [
        {"type": "section", "text": {"type": "mrkdwn", "text": ":warning: No such execution."}}
    ]


def test_help_shows_the_usage_under_its_title_not_as_a_warning() -> None:
    text, blocks = _views().usage("incident", "/incident list <all>")

    assert text == "/incident list &lt;all&gt;"
    assert blocks == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Incident commands*"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Usage: `/incident list &lt;all&gt;`"}]},
    ]
    assert _views().usage("maintenance", "/maintenance list")[1][0]["text"]["text"] == "*Maintenance commands*"


def test_busy_unexpected_and_outage_answers_keep_their_wording() -> None:
    views = _views()
    busy = "I'm busy with other requests right now; nothing was done. Try again in a moment."
    unexpected = (
        "Something went wrong on my side while handling `/runbook x`. Nothing further was done. "
        "Error id `E-1`: give it to the bot's operators."
    )
    outage = errors.UnavailableError("Redis", "connection refused <here>")

    assert views.busy() == (busy, [{"type": "section", "text": {"type": "mrkdwn", "text": f":warning: {busy}"}}])
    assert views.unexpected("`/runbook x`", "E-1")[0] == unexpected
    assert views.unexpected("`/runbook x`", "E-1")[1][0]["text"]["text"] == f":warning: {unexpected}"
    assert views.unavailable(outage, changes=False)[0] == (
        "Redis is unavailable (connection refused &lt;here&gt;). Try again shortly."
    )
    assert views.unavailable(outage, changes=True)[0] == (
        "Redis is unavailable (connection refused &lt;here&gt;), so changes are refused until it is back. "
        "Nothing was changed. Read-only commands still work."
    )


def test_nothing_to_change_has_no_buttons_and_says_no_request_was_created() -> None:
    views = _views()
    said = errors.Said("nothing_to_change", summaries=["backend already has 3 replicas <!here>"])
    text, blocks = views.nothing_to_change(views.said(said))

    assert text == "backend already has 3 replicas &lt;!here&gt;."
    assert blocks == [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": ":information_source: backend already has 3 replicas &lt;!here&gt;."},
        },
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": "Nothing to change, so nothing to confirm: no request was created."}
            ],
        },
    ]


def test_a_list_with_nothing_allowed_says_to_ask_for_a_role() -> None:
    text, blocks = RunbookViews(Templates(TEMPLATES)).allowed_list([])

    advice = "You may not run any procedure yet. Ask an admin to add you to a role in the catalog."
    assert text == advice  # the notification says it too, not a title over nothing
    assert blocks == [{"type": "section", "text": {"type": "mrkdwn", "text": f":warning: {advice}"}}]


@pytest.mark.parametrize("typed", ["\x7f", "\x00\x1f", "a\x85b", "\x9f", "\u2028\u2029", "\ufffe\uffff", "é😀\t"])
def test_control_characters_a_user_typed_reach_the_answer_intact_instead_of_breaking_it(typed: str) -> None:
    text, blocks = _views().error(f"Unknown service {typed}.")

    assert text == f"Unknown service {typed}."
    assert blocks[0]["text"]["text"] == f":warning: Unknown service {typed}."


def test_a_lone_surrogate_is_shown_as_a_replacement_character() -> None:
    assert _views().error("bad \ud800 name")[0] == "bad \ufffd name"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Cs"])))
def test_any_text_in_a_template_value_comes_out_as_it_went_in(typed: str) -> None:
    assert _views().error(f"Unknown {typed}")[0] == f"Unknown {typed}"
