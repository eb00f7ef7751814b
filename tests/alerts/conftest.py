"""A running bot with ALERTMANAGER_TOKEN set, an HTTP client for its webhook, and Alertmanager payloads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.app import BotProcess
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from tests.conftest import MakeBot, user_of

TOKEN = "test-alertmanager-token-0123456789"


@pytest.fixture
async def alert_bot(make_bot: MakeBot) -> BotProcess:
    return await make_bot(ALERTMANAGER_TOKEN=TOKEN)


class Alertmanager:
    """Sends webhook deliveries the way Alertmanager does (bearer token, JSON body)."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, url

    async def send(
        self, payload: Any, *, token: str | None = TOKEN, raw: bytes | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        body = raw if raw is not None else json.dumps(payload).encode()
        async with self.session.post(self.url, data=body, headers=headers) as response:
            answer = await response.json(content_type=None) if response.status != 204 else {}
            return response.status, answer


@pytest.fixture
async def alertmanager(alert_bot: BotProcess) -> AsyncIterator[Alertmanager]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield Alertmanager(session, f"http://127.0.0.1:{alert_bot.port}/alerts/alertmanager")


@pytest.fixture
async def alice_in_incidents(alert_bot: BotProcess, slack: SlackFake) -> AsyncIterator[SlackUser]:
    async with user_of(alert_bot, slack, "U0ALICE", "C0INCIDENTS") as user:
        yield user


def group(
    alertname: str,
    *,
    status: str = "firing",
    service: str = "backend",
    severity: str = "critical",
    key: str | None = None,
    summary: str = "Something is wrong",
    description: str = "",
    annotations: dict[str, str] | None = None,
    generator_url: str = "http://prometheus.example.com/graph?g0.expr=up",
    alerts: int = 1,
) -> dict[str, Any]:
    """An Alertmanager v4 webhook payload for one group."""
    labels = {"alertname": alertname, "service": service, "severity": severity}
    common_annotations = {"summary": summary, "description": description, **(annotations or {})}
    return {
        "version": "4",
        "groupKey": key or f'{{}}:{{alertname="{alertname}", service="{service}"}}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "slack-runbook-bot",
        "groupLabels": {"alertname": alertname, "service": service},
        "commonLabels": labels,
        "commonAnnotations": common_annotations,
        "externalURL": "http://alertmanager.example.com",
        "alerts": [
            {
                "status": status,
                "labels": {**labels, "pod": f"{service}-{i}"},
                "annotations": common_annotations,
                "startsAt": "2026-11-23T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": generator_url,
                "fingerprint": f"{i:016x}",
            }
            for i in range(alerts)
        ],
    }
