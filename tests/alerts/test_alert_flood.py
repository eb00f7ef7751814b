"""Flood control: an Alertmanager storm stays within Slack's ~1 message per second per channel."""

from __future__ import annotations

import asyncio
import json

from sandbox.slack_fake import SlackFake
from tests.alerts.conftest import Alertmanager, group

GROUPS = 30


def shown(slack: SlackFake, channel: str) -> str:
    return json.dumps([m.blocks for m in slack.messages(channel)])


async def test_a_flood_of_30_groups_in_one_second_never_exceeds_one_post_per_second(
    alertmanager: Alertmanager, slack: SlackFake
) -> None:
    names = [f"Storm{i:02d}" for i in range(GROUPS)]
    for name in names:
        status, _ = await alertmanager.send(group(name))
        assert status == 200
        await asyncio.sleep(1.0 / GROUPS)
    await slack.wait_for(lambda: all(f"[FIRING] {n}" in shown(slack, "C0INCIDENTS") for n in names), timeout=10)
    assert slack.max_posts_in_window("C0INCIDENTS", 1.0) == 1
    assert len(slack.calls_to("chat.postMessage")) <= 4  # summarised, not 30 posts spread out


async def test_a_repeat_delivery_for_a_group_in_a_digest_updates_the_digest(
    alertmanager: Alertmanager, slack: SlackFake
) -> None:
    for i in range(5):
        await alertmanager.send(group(f"Burst{i}"))
    await slack.wait_for(lambda: all(f"Burst{i}" in shown(slack, "C0INCIDENTS") for i in range(5)), timeout=5)
    posted = len(slack.calls_to("chat.postMessage"))
    await alertmanager.send(group("Burst3", status="resolved"))
    await slack.wait_for(lambda: "[RESOLVED] Burst3" in shown(slack, "C0INCIDENTS"), timeout=5)
    assert len(slack.calls_to("chat.postMessage")) == posted
