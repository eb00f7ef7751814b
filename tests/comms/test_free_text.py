"""Issue 15: free text that PostgreSQL cannot hold, or that is over a field's limit, is refused before any
write, with a message naming the field (never "Something went wrong … Error id")."""

from __future__ import annotations

from datetime import timedelta

from bot.app import BotProcess
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from tests.comms.helpers import confirmed


async def _count(bot: BotProcess, table: str) -> int:
    assert bot.runtime is not None
    async with bot.runtime.db.acquire() as conn:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608 - fixed table names


async def _refusal(slack: SlackFake, field: str) -> str:
    text = (await confirmed(slack, "U0ALICE", f"The {field} ")).text
    assert "Error id" not in text
    return text


async def test_a_nul_byte_in_a_quick_declared_title_is_refused_naming_the_title(
    bot: BotProcess, alice: SlackUser, slack: SlackFake
) -> None:
    await alice.slash_command('declare P2 "a\x00b"', command="/incident")
    assert "cannot be stored" in await _refusal(slack, "title")
    assert await _count(bot, "incidents") == 0


async def test_an_overlong_modal_title_and_a_lone_surrogate_in_the_impact_are_refused(
    bot: BotProcess, alice: SlackUser, slack: SlackFake
) -> None:
    await alice.slash_command("declare", command="/incident")
    modal = await slack.wait_for(lambda: (slack.views_for("U0ALICE") or [None])[-1])
    values = {
        "severity": {"severity": {"type": "static_select", "selected_option": {"value": "P2"}}},
        "lead": {"lead": {"type": "users_select", "selected_user": "U0ALICE"}},
    }
    await alice.view_submission(modal.view, {**values, "title": {"title": "t" * 39_471}})
    assert "39,471 characters long; the limit is 150" in await _refusal(slack, "title")
    await alice.view_submission(modal.view, {**values, "title": {"title": "ok"}, "impact": {"impact": "x\ud800y"}})
    assert "cannot be stored" in await _refusal(slack, "impact")
    assert await _count(bot, "incidents") == 0


async def test_a_nul_byte_in_an_update_is_refused_naming_the_update(
    bot: BotProcess, alice: SlackUser, slack: SlackFake
) -> None:
    await alice.slash_command('declare P2 "Emails delayed"', command="/incident")
    await confirmed(slack, "U0ALICE", "Incident #1 declared")
    events = await _count(bot, "incident_events")
    await alice.slash_command("update 1", command="/incident")
    modal = await slack.wait_for(lambda: (slack.views_for("U0ALICE") or [None])[-1])
    await alice.view_submission(modal.view, {"update": {"update": "still \x00 broken"}})
    assert "cannot be stored" in await _refusal(slack, "update")
    assert await _count(bot, "incident_events") == events


async def test_a_nul_byte_in_a_maintenance_purpose_is_refused_naming_the_purpose(
    bot: BotProcess, alice: SlackUser, slack: SlackFake
) -> None:
    assert bot.runtime is not None
    start = (bot.runtime.clock() + timedelta(days=3)).replace(microsecond=0)
    await alice.slash_command(f"schedule {start.isoformat()} 2h Postgres\x00 upgrade", command="/maintenance")
    assert "cannot be stored" in await _refusal(slack, "purpose")
    assert await _count(bot, "maintenance_windows") == 0
