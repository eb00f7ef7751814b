"""Property tests: whatever a user types, the parser answers with a UserError or a typed command,
never a crash, and nothing the user typed can become a ping or a link."""

from __future__ import annotations

import dataclasses
import functools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import errors
from bot.app import load_configuration
from bot.catalog import Catalog
from bot.comms import contexts, samples
from bot.runbooks import parser
from bot.runbooks.model import Procedure
from bot.settings import load_settings
from bot.slack.reply_views import ReplyViews
from bot.templating import Templates
from sandbox.blockkit import validate_message_blocks


@functools.cache
def configuration() -> tuple[Catalog, dict[str, Procedure]]:
    """The shipped catalog and procedures, loaded when a test first needs them, not when each xdist
    worker collects this module (the load checks every template: seconds of CPU)."""
    catalog, _, procedures = load_configuration(load_settings())
    return catalog, procedures


REPLIES = ReplyViews(Templates(load_settings().templates_dir))
# Any raw `<` in mrkdwn opens Slack markup: a ping (`<!channel>`, `<@U…>`, `<#C…>`) or a link (`<http…|…>`).
MARKUP = re.compile(r"<")

hostile_words = st.sampled_from(
    [
        "<!channel>",
        "<!here>",
        "<@U0BOB>",
        "<#C0OPS>",
        "<http://evil|click>",
        "&",
        "`",
        "'",
        '"',
        "\\",
        "$(rm -rf /)",
        "; ls",
        "|",
        "../..",
        "a/b",
        "x" * 10_000,
        "-1",
        "999999999999",
        "1_000",
        "５",
        "'; DROP TABLE executions; --",
        "--replicas",
        "--",
        "ünïcödé",
        "\u202e",
        "\x00",
    ]
)
tokens = st.one_of(
    hostile_words,
    st.text(max_size=40),
    st.deferred(lambda: st.sampled_from(list(configuration()[1]))),
    st.deferred(lambda: st.sampled_from(list(configuration()[0].services))),
    st.integers(-(10**12), 10**12).map(str),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(tokens, max_size=6))
def test_any_input_parses_or_fails_with_an_escaped_user_error(words: list[str]) -> None:
    text = " ".join(words)
    catalog, procedures = configuration()
    try:
        parsed = parser.parse(text, procedures, catalog)
    except errors.UserError as exc:
        for block in REPLIES.error(REPLIES.said(exc.said), exc.usage)[1]:  # as `answering` shows it
            assert not MARKUP.search(str(block)), block
        return
    for param in parsed.procedure.params:
        value = parsed.args.get(param.name)
        if param.type == "service":
            assert value in catalog.services
        if param.type == "int" and value is not None:
            assert isinstance(value, int)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.integers(-(10**15), 10**15).map(str), st.sampled_from(["1e3", "0x10", "+5", "5.0", "1_0", "٥"])))
def test_replica_counts_are_accepted_only_within_the_services_limits(count: str) -> None:
    catalog, procedures = configuration()
    limits = catalog.services["backend"].replicas
    in_range = re.fullmatch(r"-?[0-9]+", count) is not None and limits.min <= int(count) <= limits.max
    if in_range:
        assert parser.parse(f"scale backend {count}", procedures, catalog).args["replicas"] == int(count)
    else:
        with pytest.raises(errors.UserError, match="replicas"):
            parser.parse(f"scale backend {count}", procedures, catalog)


TEMPLATES = Templates(load_settings().templates_dir)
free_text = st.one_of(
    st.text(max_size=300),
    st.lists(hostile_words, min_size=1, max_size=5).map(" ".join),
    st.text(alphabet="<>&!@#|`'\"{}[]:-\n *_~", max_size=60),
)


@settings(max_examples=150, deadline=None)
@given(title=free_text, impact=free_text, update=free_text, root_cause=free_text)
def test_incident_templates_never_let_user_text_ping_or_break_block_kit(
    title: str, impact: str, update: str, root_cause: str
) -> None:
    catalog = configuration()[0]
    incident = dataclasses.replace(
        samples.sample_incident(catalog), title=title, impact=impact, root_cause=root_cause, resolution=update
    )
    rendered = [
        TEMPLATES.render("incident_declared", contexts.incident(incident, catalog)),
        TEMPLATES.render(
            "incident_update",
            {**contexts.incident_update(incident, catalog, text=update, author="U0AUTHOR"), "next_update": "09:15"},
        ),
        TEMPLATES.render(
            "incident_resolved",
            contexts.incident_resolved(
                dataclasses.replace(incident, state="resolved"), catalog, resolved_by="U0RESOLVER"
            ),
        ),
    ]
    for message in rendered:
        text = str(message.blocks) + message.text
        # The bot mentions only the lead, author and resolver it was given; nothing typed becomes a ping.
        for ping in ("<!channel>", "<!here>", "<@U0BOB>", "<#C0OPS>"):
            assert ping not in text
        assert validate_message_blocks(message.blocks) == []
