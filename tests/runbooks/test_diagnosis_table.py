"""Issue 21's "done when": every read line of the seed runbooks has its chat command in the README's table,
or the table says why not. These keep the table honest against the real parser, procedures and catalog;
tests/shell runs every command of it in `runbook-bot shell`."""

from __future__ import annotations

import re

from bot.actions.prometheus import find_check
from bot.actions.registry import ActionContext
from bot.catalog import Catalog
from bot.runbooks import parser
from bot.runbooks.loader import RESERVED_NAMES
from bot.runbooks.model import Procedure
from tests.readme_table import NO_COMMAND, diagnosis_commands, diagnosis_rows

SEED_RUNBOOKS = {"000", "001", "002", "003", "004"}


def test_every_row_names_runbook_lines_and_a_command_or_why_there_is_none() -> None:
    rows = diagnosis_rows()
    assert {ref.split(":")[0] for row in rows for ref in re.findall(r"\b00\d:\d+", row.line)} == SEED_RUNBOOKS
    for row in rows:
        assert re.match(r"00\d:\d+", row.line), f"a row starts with the runbook line it answers: {row.line!r}"
        assert row.commands or row.answer.startswith(NO_COMMAND), f"no command and no reason: {row.line!r}"


def test_every_command_of_the_table_parses_into_a_read_a_viewer_may_run(
    procedures: dict[str, Procedure], catalog: Catalog
) -> None:
    commands = diagnosis_commands()
    assert len(commands) > 80
    for command in commands:
        name = parser.tokenize(command)[0]
        if name in RESERVED_NAMES:  # `health`, `history`: built in, answered by the bot itself
            continue
        parsed = parser.parse(command, procedures, catalog)
        assert not parsed.procedure.destructive, f"a diagnosis line changes nothing: {command!r}"
        assert "viewer" in parsed.procedure.roles, f"whoever is on call may read: {command!r}"


def test_every_check_the_table_queries_is_a_catalog_check_of_that_service(
    procedures: dict[str, Procedure], catalog: Catalog
) -> None:
    prometheus = [c for c in diagnosis_commands() if parser.tokenize(c)[0] in ("query", "graph")]
    assert prometheus
    for command in prometheus:
        parsed = parser.parse(command, procedures, catalog)
        service = str(parsed.service)
        ctx = ActionContext(service, catalog.service(service), timeout_seconds=1)
        find_check(ctx, str(parsed.args["check"]))  # an unknown check raises, listing the allowed ones


def test_the_component_reads_of_runbook_000_have_their_own_commands() -> None:
    answers = {row.line.split(" ")[0]: row.commands for row in diagnosis_rows()}
    assert answers["000:41"] == ["auth-pods"]
    assert answers["000:147"] == ["ingestion-logs --since 1h"]
    assert answers["000:200"] == ["websocket-pods"]
    assert answers["000:241"] == ["export-logs 100"]
