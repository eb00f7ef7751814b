"""Issue 15: an outage reply names the dependency that is down, never its address; a malformed DSN or URL
in the environment is "unavailable", not an error id."""

from __future__ import annotations

import json

import pytest

from sandbox.slack_fake import SlackFake
from tests.conftest import MakeBot, user_of

ADDRESS = "127.0.0.1"


def everything_shown(slack: SlackFake) -> str:
    return json.dumps([c.params for c in slack.calls if c.method != "auth.test"], default=str)


async def _answer(slack: SlackFake, needle: str) -> str:
    return await slack.wait_for(lambda: everything_shown(slack) if needle in everything_shown(slack) else None)


@pytest.mark.parametrize(
    ("variable", "value", "command", "expected"),
    [
        ("MAIL_SCORE_DATABASE_URL", f"postgresql://app:pw@{ADDRESS}:9/app", "db-connections backend", "refused"),
        ("MAIL_SCORE_DATABASE_URL", "postgresql://app:pw@db:notaport/app", "db-connections backend", "malformed"),
        ("EMAIL_TRIAGE_REDIS_URL", f"redis://{ADDRESS}:9/0", "queue-depth email-triage", "refused"),
        ("EMAIL_TRIAGE_REDIS_URL", "redis://db:notaport/0", "queue-depth email-triage", "malformed"),
    ],
    ids=["postgres-refused", "postgres-malformed", "redis-refused", "redis-malformed"],
)
async def test_a_monitored_service_outage_names_the_dependency_not_its_address(
    make_bot: MakeBot,
    slack: SlackFake,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    command: str,
    expected: str,
) -> None:
    monkeypatch.setenv(variable, value)
    bot = await make_bot()
    dependency = "PostgreSQL" if "DATABASE" in variable else "Redis"
    async with user_of(bot, slack, "U0ALICE") as alice:
        await alice.slash_command(command)
        shown = await _answer(slack, f"{dependency} is unavailable")
    assert expected in shown
    assert ADDRESS not in shown and "notaport" not in shown
    assert "Error id" not in shown


async def test_the_bots_own_redis_down_is_named_without_its_address(make_bot: MakeBot, slack: SlackFake) -> None:
    bot = await make_bot(REDIS_URL=f"redis://{ADDRESS}:9/0", REDIS_TIMEOUT="0.5")
    async with user_of(bot, slack, "U0ALICE") as alice:
        await alice.slash_command("scale backend 5")
        shown = await _answer(slack, "Redis is unavailable")
    assert ADDRESS not in shown
