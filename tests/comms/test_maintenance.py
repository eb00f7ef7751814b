"""Issue 5: maintenance windows announced now, with reminder/start/completion notices fired once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot import errors
from bot.app import BotProcess
from bot.comms import times
from bot.comms.maintenance import MaintenanceService
from bot.runtime import Runtime
from bot.scheduler import Scheduler
from bot.store.jobs import PostgresJobStore
from bot.store.maintenance import PostgresMaintenanceStore
from bot.templating import Templates
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from tests.comms.helpers import confirmed, notices, shown


def replica(rt: Runtime, name: str) -> Scheduler:
    """Another replica (or the same bot after a restart): its own Scheduler on the same database."""
    scheduler = Scheduler(PostgresJobStore(rt.db), clock=rt.clock, replica_id=name)
    MaintenanceService(
        store=PostgresMaintenanceStore(rt.db),
        scheduler=scheduler,
        slack=rt.slack,
        policy=rt.policy,
        catalog=rt.catalog,
        templates=Templates(rt.settings.templates_dir),
        clock=rt.clock,
    ).register_jobs(scheduler)
    return scheduler


async def test_notices_fire_once_across_two_replicas_and_after_a_restart(
    bot: BotProcess, alice: SlackUser, slack: SlackFake
) -> None:
    rt = bot.runtime
    assert rt is not None
    start = (rt.clock() + timedelta(days=3)).replace(microsecond=0)
    await alice.slash_command(
        f"schedule {start.isoformat()} 2h Postgres upgrade --services backend", command="/maintenance"
    )
    announcement = await slack.wait_for(lambda: (notices(slack, "Scheduled maintenance #1") or [None])[0])
    assert "Postgres upgrade" in shown(announcement) and "backend" in shown(announcement)
    await confirmed(slack, "U0ALICE", "Maintenance #1 announced")

    a, b = replica(rt, "a"), replica(rt, "b")
    await asyncio.gather(a.run_due(now=start - timedelta(hours=24)), b.run_due(now=start - timedelta(hours=24)))
    assert len(notices(slack, "Reminder: maintenance #1")) == 1
    await asyncio.gather(a.run_due(now=start), b.run_due(now=start))
    assert len(notices(slack, "Maintenance #1 has started")) == 1

    restarted = replica(rt, "a-after-restart")
    # Down through the end of the window: the completion notice is posted late, once, and says so.
    ran = await restarted.run_due(now=start + timedelta(hours=2, minutes=5))
    assert [j.key for j in ran] == ["maintenance:1:completed"]
    completed = notices(slack, "Maintenance #1 is complete")
    assert len(completed) == 1 and "(posted late)" in shown(completed[0])
    assert await a.run_due(now=start + timedelta(days=1)) == []


async def test_cancel_cancels_pending_notices_and_posts_the_cancellation(
    bot: BotProcess, alice: SlackUser, slack: SlackFake
) -> None:
    rt = bot.runtime
    assert rt is not None
    start = (rt.clock() + timedelta(hours=5)).replace(microsecond=0)
    await alice.slash_command(f"schedule {start.isoformat()} 30m Cert rotation", command="/maintenance")
    await confirmed(slack, "U0ALICE", "Maintenance #1 announced")
    assert [j.key for j in await rt.scheduler.pending("maintenance:1:")] == [  # too close for a 24 h reminder
        "maintenance:1:started",
        "maintenance:1:completed",
    ]
    await alice.slash_command("cancel 1", command="/maintenance")
    await confirmed(slack, "U0ALICE", "Maintenance #1 cancelled")
    assert "<@U0ALICE>" in shown(notices(slack, "is cancelled")[0])
    assert await rt.scheduler.pending("maintenance:1:") == []
    assert await rt.scheduler.run_due(now=start + timedelta(hours=1)) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("schedule tomorrow 2h Upgrade", "Cannot read `tomorrow` as a time"),
        ("schedule 2001-01-01T10:00+00:00 2h Upgrade", "is in the past"),
        ("schedule 2099-01-01T10:00 forever Upgrade", "Cannot read `forever` as a duration"),
        ("schedule 2099-01-01T10:00 2h", "needs a start, a duration and a purpose"),
        ("cancel x", "not a maintenance id"),
    ],
)
async def test_bad_times_and_ids_are_refused_with_examples_and_usage(
    alice: SlackUser, text: str, expected: str
) -> None:
    reply = await alice.slash_command(text, command="/maintenance")
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    assert expected in body["text"]
    assert "/maintenance schedule" in str(body["blocks"])
    if "time" in expected or "past" in expected:
        assert "2026-12-01T22:00+01:00" in body["text"]


def test_a_naive_time_is_read_in_the_catalog_timezone() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    start = times.parse_start("2026-07-01 22:00", timezone="Europe/Berlin", now=now)
    assert start.astimezone(UTC) == datetime(2026, 7, 1, 20, 0, tzinfo=UTC)
    with pytest.raises(errors.UserError):
        times.parse_start("2026-07-01T22:00+01:00", timezone="UTC", now=datetime(2027, 1, 1, tzinfo=UTC))
