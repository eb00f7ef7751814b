"""Issue 14.1: who may read, declare, update, resolve, schedule and cancel is catalog policy (`comms:`),
checked on every command, modal submission and button, at request and at click."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot import errors
from bot.app import BotProcess
from bot.catalog import load_catalog
from bot.ids import ActionId
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from sandbox.slack_fake_records import FakeUser
from tests.comms.helpers import INCIDENTS, confirmed, declared_at, notices
from tests.conftest import CATALOG_PATH, MakeBot, user_of

OUTSIDER = "U0MALLORY"  # in no role and no user group


@pytest.fixture
async def mallory(bot: BotProcess, slack: SlackFake) -> AsyncIterator[SlackUser]:
    slack.users[OUTSIDER] = FakeUser(OUTSIDER, "mallory", "Mallory Example")  # a workspace member, nothing more
    async with user_of(bot, slack, OUTSIDER) as user:
        yield user


async def refusal(slack: SlackFake, user: str, needle: str, *, after: set[str] | None = None) -> str:
    """The text of the first ephemeral message to `user` containing `needle` and not among `after` (ts)."""

    def found() -> str | None:
        for message in slack.ephemeral_messages(user):
            if message.ts not in (after or set()) and needle in message.text:
                return message.text
        return None

    return await slack.wait_for(found)


def shown_to(slack: SlackFake, user: str) -> set[str]:
    return {m.ts for m in slack.ephemeral_messages(user)}


def with_comms(folder: Path, comms: dict[str, object]) -> Path:
    """The shipped catalog with its `comms:` section replaced."""
    data = yaml.safe_load(CATALOG_PATH.read_text())
    path = folder / "chatops.yml"
    path.write_text(yaml.safe_dump({**data, "comms": comms}))
    return path


async def _count(bot: BotProcess, table: str) -> int:
    assert bot.runtime is not None
    async with bot.runtime.db.acquire() as conn:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608 (the tests' own table names)


async def test_a_viewer_cannot_cancel_or_schedule_maintenance_and_is_told_which_role_is_needed(
    bot: BotProcess, alice: SlackUser, carol: SlackUser, slack: SlackFake
) -> None:
    assert bot.runtime is not None
    start = (bot.runtime.clock() + timedelta(days=2)).replace(microsecond=0)
    await alice.slash_command(f"schedule {start.isoformat()} 1h Postgres upgrade", command="/maintenance")
    await confirmed(slack, "U0ALICE", "Maintenance #1 announced")

    await carol.slash_command("cancel 1", command="/maintenance")
    assert "role `operator` or `incident`" in await refusal(slack, "U0CAROL", "You may not cancel maintenance")
    await carol.slash_command(f"schedule {start.isoformat()} 1h Everything is down", command="/maintenance")
    await refusal(slack, "U0CAROL", "You may not schedule maintenance")

    assert notices(slack, "is cancelled") == [] and notices(slack, "Everything is down") == []
    assert len(await bot.runtime.scheduler.pending("maintenance:1:")) == 3  # reminder, start, completion
    assert await _count(bot, "maintenance_windows") == 1
    # The viewer may still read.
    await carol.slash_command("list", command="/maintenance")
    await confirmed(slack, "U0CAROL", "Maintenance windows")


async def test_someone_in_no_role_can_neither_read_nor_declare(
    bot: BotProcess, alice: SlackUser, mallory: SlackUser, slack: SlackFake
) -> None:
    await alice.slash_command('declare P2 "Search is slow"', command="/incident")
    await confirmed(slack, "U0ALICE", "Incident #1 declared")
    for text, command, needle in [
        ("list", "/incident", "You may not read incidents"),
        ("timeline 1", "/incident", "You may not read incidents"),
        ('declare P1 "Everything is down"', "/incident", "You may not declare an incident"),
        ("declare", "/incident", "You may not declare an incident"),
        ("list", "/maintenance", "You may not read maintenance windows"),
    ]:
        before = shown_to(slack, OUTSIDER)
        await mallory.slash_command(text, command=command)
        assert "role `viewer`" in await refusal(slack, OUTSIDER, needle, after=before), text
    assert await _count(bot, "incidents") == 1
    assert slack.views_for(OUTSIDER) == []  # the declare modal never opened
    assert notices(slack, "Everything is down") == []


async def test_the_named_lead_must_hold_a_role(alice: SlackUser, bot: BotProcess, slack: SlackFake) -> None:
    await alice.slash_command("declare", command="/incident")
    modal = await slack.wait_for(lambda: (slack.views_for("U0ALICE") or [None])[-1])
    await alice.view_submission(
        modal.view,
        {
            "title": {"title": "Logins failing"},
            "severity": {"severity": {"type": "static_select", "selected_option": {"value": "P1"}}},
            "lead": {"lead": {"type": "users_select", "selected_user": OUTSIDER}},
        },
    )
    text = await refusal(slack, "U0ALICE", "cannot lead an incident")
    assert f"<@{OUTSIDER}>" in text and "role `viewer` or `incident`" in text
    assert await _count(bot, "incidents") == 0
    assert notices(slack, "Logins failing") == []


async def test_a_declare_modal_submitted_by_someone_in_no_role_is_refused_at_submission(
    alice: SlackUser, mallory: SlackUser, bot: BotProcess, slack: SlackFake
) -> None:
    await alice.slash_command("declare", command="/incident")
    modal = await slack.wait_for(lambda: (slack.views_for("U0ALICE") or [None])[-1])
    # The modal's payload, submitted as someone who could never have opened it.
    await mallory.view_submission(
        modal.view,
        {
            "title": {"title": "Everything is down"},
            "severity": {"severity": {"type": "static_select", "selected_option": {"value": "P1"}}},
            "lead": {"lead": {"type": "users_select", "selected_user": "U0ALICE"}},
        },
    )
    await refusal(slack, OUTSIDER, "You may not declare an incident")
    assert await _count(bot, "incidents") == 0


async def test_reminder_buttons_and_update_modal_are_checked_at_click(
    bot: BotProcess, alice: SlackUser, carol: SlackUser, slack: SlackFake
) -> None:
    assert bot.runtime is not None
    await alice.slash_command('declare P1 "Payments failing"', command="/incident")
    notice = await slack.wait_for(lambda: (notices(slack, "Payments failing") or [None])[0])
    await confirmed(slack, "U0ALICE", "Incident #1 declared")
    await bot.runtime.scheduler.run_due(now=await declared_at(bot, 1) + timedelta(minutes=15))
    reminder = slack.thread_replies(INCIDENTS, notice.ts)[-1]
    pending = await bot.runtime.scheduler.pending("incident:1:reminder:")

    lead_only = "Only the incident lead <@U0ALICE>"
    await carol.block_action(reminder, ActionId.INCIDENT_SNOOZE.value)
    assert "role `incident`" in await refusal(slack, "U0CAROL", lead_only)
    assert await bot.runtime.scheduler.pending("incident:1:reminder:") == pending

    before = shown_to(slack, "U0CAROL")
    await carol.block_action(reminder, ActionId.INCIDENT_POST_UPDATE.value)
    await refusal(slack, "U0CAROL", lead_only, after=before)
    assert slack.views_for("U0CAROL") == []

    # The lead's own update modal, submitted by the viewer: refused at submission too.
    await alice.block_action(reminder, ActionId.INCIDENT_POST_UPDATE.value)
    modal = await slack.wait_for(lambda: (slack.views_for("U0ALICE") or [None])[-1])
    before = shown_to(slack, "U0CAROL")
    await carol.view_submission(modal.view, {"update": {"update": "All good, go home"}})
    await refusal(slack, "U0CAROL", lead_only, after=before)
    assert notices(slack, "Update on incident #1") == []


async def test_comms_roles_come_from_the_catalog(make_bot: MakeBot, slack: SlackFake, tmp_path: Path) -> None:
    catalog = with_comms(tmp_path, {"maintenance": {"schedule": ["viewer"], "cancel": ["approver"]}})
    bot = await make_bot(CHATOPS_CONFIG=str(catalog))
    assert bot.runtime is not None
    start = (bot.runtime.clock() + timedelta(days=2)).replace(microsecond=0)
    async with user_of(bot, slack, "U0CAROL") as carol, user_of(bot, slack, "U0ALICE") as alice:
        await carol.slash_command(f"schedule {start.isoformat()} 1h Cert rotation", command="/maintenance")
        await confirmed(slack, "U0CAROL", "Maintenance #1 announced")
        await alice.slash_command("cancel 1", command="/maintenance")
        assert "role `approver`" in await refusal(slack, "U0ALICE", "You may not cancel maintenance")


def test_a_comms_role_the_catalog_does_not_define_is_a_config_error(tmp_path: Path) -> None:
    bad = with_comms(tmp_path, {"incident": {"resolve": ["incident-lead"]}})
    with pytest.raises(errors.ConfigError) as caught:
        load_catalog(bad)
    problem = next(p for p in caught.value.problems if "comms.incident.resolve" in p)
    assert problem.startswith(str(bad)) and "'incident-lead' is not a role under 'roles'" in problem
