"""Issue 21: Grafana-managed alerting's webhook (`"version": "1"`) on the alert webhook, with the same
auth, limits, grouping and buttons as Alertmanager's. The example is the payload Grafana documents for
its webhook contact point (grafana.com/docs/grafana/latest/alerting/configure-notifications/
manage-contact-points/integrations/webhook-notifier/)."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

from bot.alerts.payload import parse
from bot.ids import ActionId
from bot.settings import PROJECT_ROOT
from sandbox.slack_client import find_buttons
from sandbox.slack_fake import Message, SlackFake
from tests.alerts.conftest import Alertmanager

EXAMPLE = PROJECT_ROOT / "tests" / "fixtures" / "alerts" / "grafana_webhook_example.json"
QUIET_SECONDS = 0.5


def example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return data


def labels(message: Message) -> list[str]:
    return [b.label for b in find_buttons(message) if b.action_id.startswith(ActionId.RUN_SUGGESTED)]


def test_the_documented_example_parses_with_grafanas_own_fields() -> None:
    group = parse(EXAMPLE.read_bytes())
    assert group.version == "1" and group.org_id == 1
    assert (group.title, group.state) == ("[FIRING:2]  (blue)", "alerting")
    assert [a.labels["alertname"] for a in group.alerts] == ["High memory usage", "High CPU usage"]


async def test_the_documented_example_is_posted_like_an_alertmanager_group(
    alertmanager: Alertmanager, slack: SlackFake
) -> None:
    status, answer = await alertmanager.send(example())
    assert (status, answer) == (200, {"ok": True})
    message = await slack.wait_for(lambda: slack.last_message("C0ALERTS"))  # no severity → the alerts channel
    text = json.dumps(message.blocks)
    for shown in ("High memory usage", "This alert was triggered for zone us-1", "zone=eu-1"):
        assert shown in text
    assert "<https://play.grafana.org/alerting/1afz29v7z/edit|source>" in text
    assert "<https://myrunbook.com/runbook/1234|runbook>" in text


async def test_a_grafana_alert_named_like_the_runbooks_gets_the_runbooks_buttons_and_updates_in_place(
    alertmanager: Alertmanager, slack: SlackFake
) -> None:
    payload = example()
    payload["groupKey"] = '{}:{alertname="High Memory"}'
    payload["commonLabels"] = {"alertname": "High Memory", "service": "backend", "severity": "critical"}
    for alert in payload["alerts"]:
        alert["labels"] = {**alert["labels"], **payload["commonLabels"]}
    await alertmanager.send(payload)
    first = await slack.wait_for(lambda: slack.last_message("C0INCIDENTS"))  # critical → incidents
    assert labels(first) == ["restart backend", "status backend", "top backend"]

    resolved = copy.deepcopy(payload)
    resolved["status"] = "resolved"
    resolved["state"] = "ok"
    for alert in resolved["alerts"]:
        alert["status"] = "resolved"
    await alertmanager.send(resolved)
    await slack.wait_for(lambda: "RESOLVED" in slack.message("C0INCIDENTS", first.ts).text)
    assert find_buttons(slack.message("C0INCIDENTS", first.ts)) == []
    await asyncio.sleep(QUIET_SECONDS)
    assert len(slack.calls_to("chat.postMessage")) == 1, "the same group updates its message"


async def test_grafana_payloads_need_the_token_and_grafanas_fields(
    alertmanager: Alertmanager, slack: SlackFake
) -> None:
    status, _ = await alertmanager.send(example(), token=None)
    assert status == 401
    status, _ = await alertmanager.send(example(), token="wrong")
    assert status == 401
    without_org = {k: v for k, v in example().items() if k != "orgId"}
    status, answer = await alertmanager.send(without_org)
    assert (status, "orgId" in answer["error"]) == (400, True)
    status, answer = await alertmanager.send({**example(), "version": "2"})
    assert (status, "version" in answer["error"]) == (400, True)
    status, answer = await alertmanager.send({**example(), "status": "pending"})
    assert (status, "Grafana" in answer["error"]) == (400, True)
    await asyncio.sleep(QUIET_SECONDS)
    assert slack.calls_to("chat.postMessage") == []
