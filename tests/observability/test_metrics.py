"""/metrics after a scripted session: requests, ack latency, executions, steps, denials, Slack, Kubernetes."""

from __future__ import annotations

import asyncio

from slack_bolt.request.async_request import AsyncBoltRequest

from bot import metrics
from bot.app import BotProcess
from bot.ids import ActionId
from bot.slack import payloads
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from tests.flows import preview_message
from tests.observability.conftest import delta, fetch, scrape, total, wait_for_delta


async def test_metrics_move_with_a_scripted_session(
    bot: BotProcess, alice: SlackUser, carol: SlackUser, slack: SlackFake
) -> None:
    before = await scrape(bot)

    # A read-only command whose answer Slack first rate-limits (slack_sdk retries it).
    slack.fail_next("chat.postMessage", 429, retry_after=1)
    await alice.slash_command("status backend")
    await slack.wait_for(lambda: slack.last_message("C0OPS"), timeout=10)
    # A destructive one: preview, then confirm.
    await alice.slash_command("scale backend 5")
    message = await preview_message(slack)
    await alice.block_action(message, ActionId.CONFIRM.value)
    # A viewer is refused by policy.
    await carol.slash_command("scale backend 4")

    after = await wait_for_delta(bot, before, "runbook_bot_executions_total", procedure="scale", state="succeeded")
    after = await wait_for_delta(bot, before, "runbook_bot_policy_denials_total", reason="role")

    requests = "runbook_bot_slack_requests_total"
    assert delta(before, after, requests, kind="slash_command", outcome="2xx") >= 3
    assert delta(before, after, requests, kind="block_actions", outcome="2xx") >= 1
    acks = "runbook_bot_ack_seconds_count"
    assert delta(before, after, acks, kind="slash_command") >= 3
    assert delta(before, after, acks, kind="block_actions") >= 1
    # Every ack fell in the 3 s bucket (Slack's limit).
    assert delta(before, after, "runbook_bot_ack_seconds_bucket", kind="slash_command", le="3.0") >= 3

    assert total(after, "runbook_bot_step_seconds_count", procedure="scale") > total(
        before, "runbook_bot_step_seconds_count", procedure="scale"
    )
    assert delta(before, after, "runbook_bot_slack_rate_limited_total", method="chat.postMessage") >= 1
    assert delta(before, after, "runbook_bot_slack_api_calls_total", method="chat.postMessage", status="ok") >= 2
    assert delta(before, after, "runbook_bot_slack_api_calls_total", method="chat.update", status="ok") >= 1
    kube = "runbook_bot_kube_api_calls_total"
    assert delta(before, after, kube, verb="get", status="ok") >= 2
    assert delta(before, after, kube, verb="patch", status="ok") >= 2  # the dry run and the real one


async def test_pool_gauges_show_connections_held_and_released(bot: BotProcess) -> None:
    """Exact figures: two connections held show as two in use (and up to two more: the sweep and the
    status page outbox worker may each be mid-query); once released and the bot is idle, zero."""
    assert bot.runtime is not None
    in_use, size = ("runbook_bot_pg_pool_in_use", frozenset()), ("runbook_bot_pg_pool_size", frozenset())

    async with bot.runtime.db.acquire(), bot.runtime.db.acquire():
        holding = await scrape(bot)

    assert holding[in_use] in (2, 3, 4)
    assert holding[size] == bot.runtime.settings.db_pool_size
    for _ in range(200):  # a deadline of about 10 s: the sweep may be mid-query for a moment
        if (await scrape(bot))[in_use] == 0:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("connections released but the pool still shows some in use")


async def test_metrics_endpoint_serves_the_text_format_and_bounded_labels(
    bot: BotProcess, alice: SlackUser, slack: SlackFake
) -> None:
    await alice.slash_command("status backend")
    await slack.wait_for(lambda: slack.last_message("C0OPS"))
    status, content_type, text = await fetch(bot, "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain")
    assert "runbook_bot_ack_seconds_bucket" in text
    # No user or channel ids as label values, ever.
    for forbidden in ("U0ALICE", "C0OPS", "T0"):
        assert f'"{forbidden}' not in text
    for name in ("python_gc_objects_collected_total", "process_cpu_seconds_total"):
        assert name not in text, "the dedicated registry holds only runbook-bot metrics"


def request_fields(body: bytes, content_type: str) -> dict[str, str]:
    """Classify a raw body the way the bot does: Bolt parses it, we read Bolt's dict."""
    parsed = AsyncBoltRequest(body=body.decode(), headers={"content-type": [content_type]}).body
    return payloads.request_fields(parsed)


def test_request_fields_classify_slack_payloads() -> None:
    form = b"command=%2Frunbook&text=status+backend&user_id=U1&channel_id=C1&team_id=T1"
    assert request_fields(form, "application/x-www-form-urlencoded") == {
        "kind": "slash_command",
        "team": "T1",
        "user": "U1",
        "channel": "C1",
        "command": "/runbook",
    }
    click = b"payload=%7B%22type%22%3A%22block_actions%22%2C%22actions%22%3A%5B%7B%22action_id%22%3A%22x%22%7D%5D%7D"
    assert request_fields(click, "application/x-www-form-urlencoded")["kind"] == "block_actions"
    assert (
        request_fields(b'{"type":"event_callback","event":{"type":"app_mention"}}', "application/json")["kind"]
        == "event"
    )
    assert payloads.request_fields(["not", "a", "mapping"]) == {"kind": "other"}
    assert metrics.status_class(429) == "4xx"
    assert metrics.bounded("rate limited!") == "other"
    assert metrics.bounded("chat.postMessage") == "chat.postMessage"
