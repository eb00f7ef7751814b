"""Property tests: whatever a user types, the parser answers with a UserError or a typed command,
never a crash, and nothing the user typed can become a ping or a link."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import errors
from bot.app import load_configuration
from bot.runbooks import parser
from bot.settings import load_settings
from bot.slack import runbook_views as views

CATALOG, _, PROCEDURES = load_configuration(load_settings())
PING = re.compile(r"<[!@#]")

hostile_words = st.sampled_from([
    "<!channel>", "<!here>", "<@U0BOB>", "<#C0OPS>", "<http://evil|click>", "&", "`", "'", '"', "\\",
    "$(rm -rf /)", "; ls", "|", "../..", "a/b", "x" * 10_000, "-1", "999999999999", "1_000", "５",
    "'; DROP TABLE executions; --", "--replicas", "--", "ünïcödé", "\u202e", "\x00",
])
tokens = st.one_of(hostile_words, st.text(max_size=40), st.sampled_from(list(PROCEDURES)),
                   st.sampled_from(list(CATALOG.services)), st.integers(-10**12, 10**12).map(str))


@settings(max_examples=400, deadline=None)
@given(st.lists(tokens, max_size=6))
def test_any_input_parses_or_fails_with_an_escaped_user_error(words: list[str]) -> None:
    text = " ".join(words)
    try:
        parsed = parser.parse(text, PROCEDURES, CATALOG)
    except errors.UserError as exc:
        for block in views.error(exc.message, exc.usage):
            assert not PING.search(str(block)), block
        return
    for param in parsed.procedure.params:
        value = parsed.args.get(param.name)
        if param.type == "service":
            assert value in CATALOG.services
        if param.type == "int" and value is not None:
            assert isinstance(value, int)


@settings(max_examples=200, deadline=None)
@given(st.lists(hostile_words, min_size=1, max_size=4))
def test_replica_counts_outside_the_limits_are_refused(words: list[str]) -> None:
    for count in ["-1", "0", "21", "10000", "99999999999", "1e3", "0x10"]:
        try:
            parser.parse(f"scale backend {count}", PROCEDURES, CATALOG)
        except errors.UserError as exc:
            assert "replicas" in exc.message
        else:
            raise AssertionError(f"{count} was accepted")
