"""Roles on the triage reads and data commands, one procedure at a time over signed HTTP: a viewer gets
every read's answer in the channel; a user in no role is refused every command, reads and changes alike,
and nothing is created for them."""

from __future__ import annotations

import pytest

from bot.app import BotProcess
from bot.catalog import Catalog
from sandbox.cluster import SandboxCluster
from sandbox.prometheus_fake import PrometheusFake
from sandbox.slack_fake import SlackFake
from tests.conftest import MakeBot, user_of

NOBODY = "U0NOBODY"  # in no role and no user group of the example catalog

READS = [
    "events backend",
    "describe backend",
    "nodes",
    "hpa backend",
    "rollout-status backend",
    "endpoints backend",
    "logs backend 20 --grep GET",
    "auth-pods",
    "auth-logs 10",
    "websocket-pods",
    "ingestion-logs 10",
    "export-logs 10",
    "db-activity backend",
    "db-ready backend",
    "db-connections backend",
    "redis-info email-dashboard",
    "queue-depth email-dashboard",
    "query backend error-rate",
    "graph backend error-rate 1h",
]
CHANGES = [
    "terminate-queries backend 5",
    "clear-cache email-dashboard email:*",
    "queue-purge email-dashboard export:queue",
    "set-image backend backend ghcr.io/repo/mail-score-backend:security-patch",
    'rollback backend --emergency "checkout 5xx"',
]


@pytest.fixture
async def triage_bot(
    make_bot: MakeBot,
    cluster: SandboxCluster,
    catalog: Catalog,
    prom: PrometheusFake,
    backend_dsn: str,
    dashboard_redis: object,
) -> BotProcess:
    """A bot whose services' workloads, databases, Redis and Prometheus all answer, so a read fails only on
    policy."""
    cluster.seed_components(catalog)  # runbook 000's ingestion, websocket, auth and export workloads
    return await make_bot(PROMETHEUS_URL=prom.url)


def _answered_in_channel(slack: SlackFake, command: str) -> bool:
    return any(f"/runbook {command.split(' ')[0]}" in str(m.blocks) for m in slack.messages("C0OPS"))


@pytest.mark.parametrize("command", READS)
async def test_a_viewer_gets_the_answer_of_every_read(triage_bot: BotProcess, slack: SlackFake, command: str) -> None:
    async with user_of(triage_bot, slack, "U0CAROL") as carol:  # viewer only
        await carol.slash_command(command)
        await slack.wait_for(lambda: _answered_in_channel(slack, command) or None, timeout=20)
    refused = [m.text for m in slack.ephemeral_messages("U0CAROL")]
    assert refused == [], refused


@pytest.mark.parametrize("command", READS + CHANGES)
async def test_a_user_in_no_role_is_refused_every_triage_command(
    triage_bot: BotProcess, slack: SlackFake, command: str
) -> None:
    async with user_of(triage_bot, slack, NOBODY) as stranger:
        await stranger.slash_command(command)
        text = await slack.wait_for(
            lambda: next((m.text for m in slack.ephemeral_messages(NOBODY) if "may not run" in m.text), None),
            timeout=20,
        )
    assert "viewer" in text or "operator" in text  # the roles that may
    assert slack.messages("C0OPS") == [], "nothing answered in the channel"
    assert triage_bot.runtime is not None
    assert await triage_bot.runtime.executions.recent(service=None, limit=5) == [], "no request was created"
