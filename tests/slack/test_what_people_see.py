"""Issue 15: what people see — help that is not a warning, errors that name the fix, warnings where a
change will not do what it seems to, and switches that work like kubectl's."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.app import BotProcess
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from tests.flows import ephemeral_text, preview_message


async def test_a_bad_choice_is_one_sentence_with_one_full_stop(alice: SlackUser) -> None:
    reply = await alice.slash_command("maintenance xyz frontend")
    body = json.dumps(reply.json())
    assert "must be one of on, off." in body
    assert ".." not in body


async def test_incident_and_maintenance_help_are_usage_not_warnings(alice: SlackUser) -> None:
    for command, usage in (("/incident", "/incident declare"), ("/maintenance", "/maintenance schedule")):
        reply = await alice.slash_command("help", command=command)
        body = json.dumps(reply.json())
        assert usage in body
        assert ":warning:" not in body


async def test_set_env_help_says_how_to_unset_without_a_flag_that_does_not_exist(alice: SlackUser) -> None:
    body = json.dumps((await alice.slash_command("help set-env")).json())
    assert "--unset" not in body
    assert "leave out the value to unset it" in body


async def test_maintenance_on_a_service_without_maintenance_config_names_the_fix(
    alice: SlackUser, slack: SlackFake
) -> None:
    reply = await alice.slash_command("maintenance on email-triage")  # refused while parsing: in the ack
    text = json.dumps(reply.json())
    assert "email-triage has no maintenance mode in the catalog" in text
    assert "services.email-triage" in text and "kind: env" in text and "kind: configmap" in text


async def test_logs_previous_is_a_switch_and_a_pod_without_a_previous_container_does_not_fail_the_rest(
    alice: SlackUser, slack: SlackFake
) -> None:
    await alice.slash_command("logs backend --previous --since 1h")

    def logs_posted() -> str | None:
        message = slack.last_message("C0OPS")
        return json.dumps(message.blocks) if message else None

    shown = await slack.wait_for(logs_posted, timeout=30)
    assert "none has a previous container" in shown  # said once for the service, not an error
    assert "Usage" not in shown and "refused" not in shown


async def test_scaling_a_service_with_an_hpa_warns_that_the_hpa_will_override_it(
    alice: SlackUser, slack: SlackFake
) -> None:
    await alice.slash_command("scale backend 5")
    preview = await preview_message(slack)
    assert "HPA backend-hpa manages these replicas" in json.dumps(preview.blocks)
    await alice.slash_command("scale email-dashboard 5")  # no HPA: no warning

    def second_preview() -> str | None:
        message = slack.last_message("C0OPS")
        return json.dumps(message.blocks) if message and message.ts != preview.ts else None

    assert "HPA" not in await slack.wait_for(second_preview)


async def test_a_window_too_soon_for_its_24_hour_notice_is_announced_with_a_warning(
    bot: BotProcess, alice: SlackUser, slack: SlackFake
) -> None:
    assert bot.runtime is not None
    start = (bot.runtime.clock() + timedelta(minutes=3)).replace(microsecond=0)
    await alice.slash_command(f"schedule {start.isoformat()} 30m Cert rotation", command="/maintenance")
    text = await ephemeral_text(slack, "U0ALICE", "Maintenance #1 announced")
    assert "24 h notice cannot be given" in text
