"""Escaping user and cluster text for Slack mrkdwn: nothing typed can ping, link or break out of code."""

from __future__ import annotations

from bot import errors, text
from bot.slack import mrkdwn


def test_escape_turns_markup_into_visible_text() -> None:
    assert text.escape("<!channel> & <@U1> <http://x|y>") == "&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;http://x|y&gt;"


def test_escape_escapes_ampersands_first_so_entities_are_not_doubled_into_markup() -> None:
    assert text.escape("&lt;!here&gt;") == "&amp;lt;!here&amp;gt;"
    assert text.escape(42) == "42"


def test_code_spans_are_escaped_and_cannot_be_closed_early() -> None:
    assert mrkdwn.code("a`<!here>`b") == "`a'&lt;!here&gt;'b`"


def test_preformatted_blocks_are_escaped_and_their_fences_neutralised() -> None:
    assert mrkdwn.preformatted("x ``` <@U1>") == "x ''' &lt;@U1&gt;"


def test_preformatted_blocks_are_cut_to_fit_one_section() -> None:
    long = mrkdwn.preformatted("a" * 5000, limit=100)
    assert len(long) == 100
    assert long.endswith("\n… (truncated)")
    assert mrkdwn.preformatted("a" * 100, limit=100) == "a" * 100


def test_quoted_user_text_is_escaped_shortened_and_cannot_close_its_span() -> None:
    assert text.quoted("<!channel>`x") == "`&lt;!channel&gt;'x`"
    assert text.quoted("a" * 100, limit=10) == "`" + "a" * 9 + "…`"
    assert text.quoted("a" * 10, limit=10) == "`" + "a" * 10 + "`"


def test_quoted_text_is_cut_at_eighty_characters_by_default() -> None:
    assert text.quoted("a" * 80) == "`" + "a" * 80 + "`"
    assert text.quoted("a" * 81) == "`" + "a" * 79 + "…`"


def test_preformatted_blocks_are_cut_at_2900_characters_by_default() -> None:
    assert mrkdwn.preformatted("a" * 2900) == "a" * 2900
    assert mrkdwn.preformatted("a" * 2901).endswith("… (truncated)")


def test_a_phrase_field_mentions_its_people_links_its_channels_and_quotes_its_names() -> None:
    assert mrkdwn.field(errors.User("U0ALICE")) == "<@U0ALICE>"
    assert mrkdwn.field(errors.Code("a`<b>")) == "`a'&lt;b&gt;`"
    assert mrkdwn.field(errors.Channel("C0OPS")) == "<#C0OPS>"
    assert mrkdwn.field("<!here> & co") == "&lt;!here&gt; &amp; co"
    assert errors.plain_field(errors.User("U0ALICE")) + errors.plain_field(errors.Code("a`<b>")) == "@U0ALICE`a`<b>`"


def test_ids_that_are_not_slack_ids_are_shown_as_text_and_never_ping() -> None:
    assert mrkdwn.field(errors.User("!channel")) + mrkdwn.field(errors.Channel("!here>")) == "!channel!here&gt;"
    assert mrkdwn.mention("U1") == "U1"  # too short for a user id
    assert mrkdwn.mention("W0ENTERPRISE") == "<@W0ENTERPRISE>"
    assert mrkdwn.channel_link("G0PRIVATE") == "<#G0PRIVATE>"
    assert mrkdwn.channel_link("c0lower") == "c0lower"
