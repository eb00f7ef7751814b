"""Issue 23's "exactly once … across a bot restart", with a real process: `runbook-bot serve` is SIGKILLed
after Statuspage accepted the public incident's create and before the bot committed its answer; the
next process adopts that incident (it carries the outbox row's key) instead of posting a second one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from sandbox.cluster import SandboxCluster
from sandbox.pagerduty_fake import PagerDutyFake
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from sandbox.statuspage_fake import StatuspageFake
from tests.comms.outbound_helpers import (
    declare_public,
    outbound_env,
    preview,
)
from tests.conftest import SIGNING_SECRET, bot_env
from tests.reliability.conftest import ServeProcess

# Real processes and real waits: scheduled first, so they overlap the short tests (tests/conftest.py).
pytestmark = pytest.mark.slow


async def outbox_state(database_url: str) -> tuple[list[tuple[str, str, str]], list[str]]:
    """The Statuspage rows (action, state, whether leased) and the Statuspage ids the bot has recorded."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT action, state, claimed_until IS NOT NULL AS leased FROM outbox"
            " WHERE target = 'statuspage' ORDER BY id"
        )
        ids = [r["statuspage_incident_id"] for r in await conn.fetch("SELECT * FROM statuspage_incidents")]
    finally:
        await conn.close()
    return [(r["action"], r["state"], "leased" if r["leased"] else "free") for r in rows], ids


async def settled_outbox_state(database_url: str, within: float = 30.0) -> tuple[list[tuple[str, str, str]], list[str]]:
    """The outbox state once no row is leased: Statuspage applies a change before the bot commits its answer."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        rows, ids = await outbox_state(database_url)
        if all(leased == "free" for _, _, leased in rows) or asyncio.get_running_loop().time() > deadline:
            return rows, ids
        await asyncio.sleep(0.1)


async def test_a_bot_killed_between_statuspage_accepting_the_create_and_its_commit_posts_it_once(
    monkeypatch: pytest.MonkeyPatch,
    slack: SlackFake,
    cluster: SandboxCluster,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    statuspage: StatuspageFake,
    pagerduty: PagerDutyFake,
) -> None:
    env = {
        **bot_env(slack=slack, cluster=cluster, database_url=database_url, redis_url=redis_url, tmp_path=tmp_path),
        **outbound_env(monkeypatch, statuspage, pagerduty),  # sets the keys in os.environ, which ServeProcess copies
        # The lease of a claimed row is three call timeouts: the next process takes the row over after it.
        "OUTBOUND_TIMEOUT": "3",
        "OUTBOX_POLL_SECONDS": "0.1",
    }
    first = ServeProcess(env, tmp_path / "first.log")
    second = ServeProcess(env, tmp_path / "second.log")
    try:
        await first.start()
        answer = statuspage.hold_answers("POST", "/incidents")  # Statuspage takes the create; its answer waits
        async with SlackUser(first.url, slack, SIGNING_SECRET, user_id="U0ALICE", channel_id="C0OPS") as alice:
            notice = await declare_public(alice, slack, "Checkout is down")
            await alice.click(await preview(slack, notice), "Post to the status page")
            await statuspage.wait_for(lambda: statuspage.incidents, timeout=30)
            first.kill()
        answer.set()  # to a caller that is gone
        (created,) = statuspage.incidents
        # Killed inside the window: the create is public, the bot's row is still leased and has no id.
        assert await outbox_state(database_url) == ([("create", "pending", "leased")], [])

        await second.start()
        async with SlackUser(second.url, slack, SIGNING_SECRET, user_id="U0ALICE", channel_id="C0OPS") as alice:
            await statuspage.wait_for(lambda: statuspage.count("GET", "/incidents/unresolved"), timeout=60)
            await alice.slash_command("update 1 --public identified Rolled back", command="/incident")
            await alice.click(await preview(slack, notice, 2), "Post to the status page")
            await statuspage.wait_for(lambda: statuspage.incidents[created]["status"] == "identified", timeout=60)
        rows, ids = await settled_outbox_state(database_url)
        assert rows == [("create", "delivered", "free"), ("update", "delivered", "free")]
        assert ids == [created]
        assert list(statuspage.incidents) == [created] and statuspage.count("POST", "/incidents") == 1
    finally:
        first.terminate()
        second.terminate()
