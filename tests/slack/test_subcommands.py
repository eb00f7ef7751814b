"""Issue 16: `/runbook` routes the words it answers itself to the surface that added them, and its help
lists what was added; no surface's runtime names another's."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from bot.runbooks.engine import Invocation
from bot.slack.subcommands import Subcommands
from sandbox.slack_client import SlackUser


async def _nothing(_who: Invocation, _words: Sequence[str]) -> None:
    return None


async def test_help_lists_every_subcommand_in_the_order_the_surfaces_added_them(alice: SlackUser) -> None:
    blocks = (await alice.slash_command("help")).json()["blocks"]
    body = "\n".join(block["text"]["text"] for block in blocks if block["type"] == "section")

    usages = [
        "`/runbook list` · what you may run",
        "`/runbook history [service]` · latest executions",
        "`/runbook health [service]` · the health checks, now",
        "`/runbook guide [runbook] [section] [--incident N]` · walk through an imported runbook",
    ]
    places = [body.find(usage) for usage in usages]
    assert -1 not in places, body
    assert places == sorted(places)


def test_a_word_a_procedure_file_may_take_cannot_become_a_subcommand() -> None:
    subcommands = Subcommands()

    with pytest.raises(ValueError, match="RESERVED_NAMES"):
        subcommands.add("restart", "/runbook restart", _nothing)
    with pytest.raises(ValueError, match="RESERVED_NAMES"):
        subcommands.add("help", "/runbook help", _nothing)  # answered in the ack path, before any subcommand
    assert list(subcommands) == []


def test_a_subcommand_is_answered_by_one_surface_only() -> None:
    subcommands = Subcommands()
    subcommands.add("health", "/runbook health", _nothing)

    with pytest.raises(ValueError, match="twice"):
        subcommands.add("health", "/runbook health [service]", _nothing)
    assert [(c.name, c.usage) for c in subcommands] == [("health", "/runbook health")]
    assert subcommands.get("guide") is None
