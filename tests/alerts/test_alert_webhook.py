"""Issue 8: Alertmanager webhook → one Slack message per alert group, with runbook buttons.

Real HTTP to the running bot; Slack is the loopback fake.
"""

from __future__ import annotations

import asyncio
import json

from bot import metrics
from bot.ids import ActionId
from bot.web_alerts import MAX_BODY_BYTES
from sandbox.slack_client import SlackUser, find_buttons
from sandbox.slack_fake import Message, SlackFake
from tests.alerts.conftest import Alertmanager, group

QUIET_SECONDS = 0.5  # how long "nothing was posted" is watched for


def posts(slack: SlackFake) -> int:
    return len(slack.calls_to("chat.postMessage"))


def labels(message: Message) -> list[str]:
    return [b.label for b in find_buttons(message) if b.action_id.startswith(ActionId.RUN_SUGGESTED)]


async def test_firing_alert_posts_one_message_with_buttons_for_its_runbook_procedures(
    alertmanager: Alertmanager, slack: SlackFake
) -> None:
    status, answer = await alertmanager.send(group("HighErrorRate", summary="5xx above 5%"))
    assert (status, answer) == (200, {"ok": True})
    message = await slack.wait_for(lambda: slack.last_message("C0INCIDENTS"))  # critical → incidents
    assert labels(message) == ["rollback backend", "status backend", "rollout-history backend"]
    values = [json.loads(b.value or "") for b in find_buttons(message)]
    assert values[0] == {"p": "rollback", "a": "backend"}
    assert find_buttons(message)[0].value == '{"p":"rollback","a":"backend"}'  # compact, as the click expects
    text = json.dumps(message.blocks)
    for shown in ("HighErrorRate", "5xx above 5%", "critical"):
        assert shown in text
    assert "<http://prometheus.example.com/graph?g0.expr=up|source>" in text
    await asyncio.sleep(QUIET_SECONDS)
    assert posts(slack) == 1


async def test_a_warning_in_the_alerts_channel_offers_only_procedures_allowed_there(
    alertmanager: Alertmanager, slack: SlackFake
) -> None:
    await alertmanager.send(group("High Memory", severity="warning", service="email-dashboard"))
    message = await slack.wait_for(lambda: slack.last_message("C0ALERTS"))
    # restart is limited to ops/incidents, so a button for it here could only be refused: the
    # message says where it can be run instead.
    assert labels(message) == ["status email-dashboard", "top email-dashboard"]
    assert "Run elsewhere: `restart email-dashboard` in <#C0OPS>, <#C0INCIDENTS>" in json.dumps(message.blocks)


async def test_repeated_delivery_updates_the_same_message_instead_of_posting_again(
    alertmanager: Alertmanager, slack: SlackFake
) -> None:
    await alertmanager.send(group("HighErrorRate", description="first"))
    first = await slack.wait_for(lambda: slack.last_message("C0INCIDENTS"))
    await alertmanager.send(group("HighErrorRate", description="second delivery", alerts=3))
    await slack.wait_for(lambda: "second delivery" in json.dumps(slack.message("C0INCIDENTS", first.ts).blocks))
    assert posts(slack) == 1
    assert len(slack.update_history("C0INCIDENTS", first.ts)) == 2
    assert labels(slack.message("C0INCIDENTS", first.ts)) == labels(first)


async def test_resolved_delivery_marks_the_message_resolved_and_removes_the_buttons(
    alertmanager: Alertmanager, slack: SlackFake
) -> None:
    await alertmanager.send(group("PodCrashLooping"))
    first = await slack.wait_for(lambda: slack.last_message("C0INCIDENTS"))
    assert labels(first) == ["logs backend", "pods backend", "restart backend"]
    await alertmanager.send(group("PodCrashLooping", status="resolved"))
    await slack.wait_for(lambda: "RESOLVED" in slack.message("C0INCIDENTS", first.ts).text)
    resolved = slack.message("C0INCIDENTS", first.ts)
    assert "✅" in json.dumps(resolved.blocks, ensure_ascii=False)
    assert find_buttons(resolved) == []
    assert posts(slack) == 1


async def test_firing_again_after_resolved_posts_a_new_message(alertmanager: Alertmanager, slack: SlackFake) -> None:
    await alertmanager.send(group("PodCrashLooping"))
    first = await slack.wait_for(lambda: slack.last_message("C0INCIDENTS"))
    await alertmanager.send(group("PodCrashLooping", status="resolved"))
    await slack.wait_for(lambda: "RESOLVED" in slack.message("C0INCIDENTS", first.ts).text)
    await alertmanager.send(group("PodCrashLooping"))
    second = await slack.wait_for(
        lambda: m if (m := slack.last_message("C0INCIDENTS")) and m.ts != first.ts else None, timeout=5
    )
    assert labels(second) == ["logs backend", "pods backend", "restart backend"]


async def test_malformed_json_is_refused_with_400_and_nothing_is_posted(
    alertmanager: Alertmanager, slack: SlackFake
) -> None:
    status, answer = await alertmanager.send(None, raw=b'{"version": "4", "alerts": [')
    assert (status, "not JSON" in answer["error"]) == (400, True)
    status, answer = await alertmanager.send({**group("HighErrorRate"), "version": "3"})
    assert (status, "version" in answer["error"]) == (400, True)
    status, answer = await alertmanager.send({"version": "4", "status": "firing"})
    assert (status, "groupKey" in answer["error"]) == (400, True)
    await asyncio.sleep(QUIET_SECONDS)
    assert posts(slack) == 0


async def test_missing_or_wrong_token_is_refused_with_401_and_nothing_is_posted(
    alertmanager: Alertmanager, slack: SlackFake
) -> None:
    refused_before = unauthorized_deliveries()
    assert (await alertmanager.send(group("HighErrorRate"), token=None))[0] == 401
    assert (await alertmanager.send(group("HighErrorRate"), token="wrong-token"))[0] == 401
    assert (await alertmanager.send(group("HighErrorRate"), token=""))[0] == 401
    await asyncio.sleep(QUIET_SECONDS)
    assert posts(slack) == 0
    assert unauthorized_deliveries() == refused_before + 3


def unauthorized_deliveries() -> float:
    sample = metrics.REGISTRY.get_sample_value("runbook_bot_alert_deliveries_total", {"outcome": "unauthorized"})
    return sample or 0.0


async def test_oversized_body_is_refused_with_413_and_nothing_is_posted(
    alertmanager: Alertmanager, slack: SlackFake
) -> None:
    payload = group("HighErrorRate", description="x" * MAX_BODY_BYTES)
    status, _ = await alertmanager.send(payload)
    assert status == 413
    await asyncio.sleep(QUIET_SECONDS)
    assert posts(slack) == 0


async def test_mentions_and_links_in_annotations_are_escaped(alertmanager: Alertmanager, slack: SlackFake) -> None:
    await alertmanager.send(
        group(
            "HighErrorRate",
            summary="<!channel> wake up & <@U0BOB>",
            description="see <https://evil.example|a harmless link>",
            annotations={"runbook_url": "javascript:alert(1)"},
            generator_url="https://prom.example.com/graph?a=1&b=<x>|y",
        )
    )
    message = await slack.wait_for(lambda: slack.last_message("C0INCIDENTS"))
    text = json.dumps(message.blocks) + message.text
    for live in ("<!channel>", "<@U0BOB>", "<https://evil", "javascript:"):
        assert live not in text
    assert "&lt;!channel&gt; wake up &amp; &lt;@U0BOB&gt;" in text
    assert "<https://prom.example.com/graph?a=1&amp;b=%3Cx%3E%7Cy|source>" in text


async def click_and_wait_for_confirm(
    alertmanager: Alertmanager, slack: SlackFake, alice: SlackUser, alertname: str, label: str
) -> Message:
    await alertmanager.send(group(alertname))
    message = await slack.wait_for(lambda: slack.last_message("C0INCIDENTS"))
    button = next(b for b in find_buttons(message) if b.label == label)
    reply = await alice.block_action(message, button.action_id)
    assert reply.status == 200
    return await slack.wait_for(
        lambda: next(
            (
                m
                for m in slack.messages("C0INCIDENTS", include_ephemeral=True)
                if m.ts != message.ts and any(b.label.casefold() == "confirm" for b in find_buttons(m))
            ),
            None,
        )
    )


async def test_clicking_a_suggested_button_as_alice_shows_a_preview_with_confirm(
    alertmanager: Alertmanager, slack: SlackFake, alice_in_incidents: SlackUser
) -> None:
    # High Memory's first suggestion is `restart backend` (action_id exactly runbook_run_suggested).
    preview = await click_and_wait_for_confirm(
        alertmanager, slack, alice_in_incidents, "High Memory", "restart backend"
    )
    assert "backend" in json.dumps(preview.blocks)


async def test_clicking_a_later_suggested_button_also_shows_a_preview_with_confirm(
    alertmanager: Alertmanager, slack: SlackFake, alice_in_incidents: SlackUser
) -> None:
    # Later buttons are runbook_run_suggested-<n>: action_ids must be unique within a message.
    preview = await click_and_wait_for_confirm(
        alertmanager, slack, alice_in_incidents, "PodCrashLooping", "restart backend"
    )
    assert "backend" in json.dumps(preview.blocks)


async def test_a_slack_outage_is_retried_until_the_alert_is_posted(
    alertmanager: Alertmanager, slack: SlackFake
) -> None:
    # slack_sdk retries a 500 three times itself; the fourth failure reaches our backoff.
    slack.fail_next("chat.postMessage", 500, count=4)
    status, _ = await alertmanager.send(group("HighErrorRate"))
    assert status == 200
    message = await slack.wait_for(lambda: slack.last_message("C0INCIDENTS"), timeout=15)
    assert labels(message) == ["rollback backend", "status backend", "rollout-history backend"]
