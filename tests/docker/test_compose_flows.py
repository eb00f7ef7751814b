"""Runbook 002's procedures through signed Slack requests, on a real Docker Engine and docker-compose."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.ids import ActionId
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import Message, SlackFake
from tests.docker.dockerd import Dockerd
from tests.flows import final_state, preview_message


def names(engine: Dockerd, service: str) -> list[str]:
    return [c["Names"][0].lstrip("/") for c in engine.containers(service)]


def states(engine: Dockerd, service: str) -> list[str]:
    return [c["State"] for c in engine.containers(service)]


async def answer(slack: SlackFake, needle: str) -> Message:
    """The in-channel answer to a read-only procedure that mentions `needle`."""

    def found() -> Message | None:
        message = slack.last_message("C0OPS")
        return message if message and needle in str(message.blocks) else None

    return await slack.wait_for(found, timeout=30)


async def test_status_lists_the_services_containers_with_state_and_image(
    operator: SlackUser, slack: SlackFake, newsletter: Dockerd
) -> None:
    await operator.slash_command("compose-status newsletter-app")
    message = await answer(slack, "newsletter_newsletter-app_1")
    text = str(message.blocks)
    assert "1/1 containers running" in text
    assert "runbook-bot-test/busybox" in text


async def test_restart_previews_the_container_then_restarts_it_once(
    operator: SlackUser, slack: SlackFake, newsletter: Dockerd
) -> None:
    started_before = newsletter.inspect("newsletter_newsletter-app_1")["State"]["StartedAt"]
    since = time.time() - 1
    await operator.slash_command("compose-restart newsletter-app")
    message = await preview_message(slack)
    assert "newsletter_newsletter-app_1" in str(message.blocks)
    assert newsletter.events(since, "restart", "newsletter-app") == [], "the preview must not restart anything"
    await operator.block_action(message, ActionId.CONFIRM.value)
    await final_state(slack, message, "succeeded")
    assert newsletter.inspect("newsletter_newsletter-app_1")["State"]["StartedAt"] != started_before
    assert states(newsletter, "newsletter-app") == ["running"]
    assert len(newsletter.events(since, "restart", "newsletter-app")) == 1


async def test_a_double_confirm_click_restarts_once(
    operator: SlackUser, second_operator: SlackUser, slack: SlackFake, newsletter: Dockerd
) -> None:
    since = time.time() - 1
    await operator.slash_command("compose-restart worker")
    message = await preview_message(slack)
    replies = await asyncio.gather(
        operator.block_action(message, ActionId.CONFIRM.value),
        second_operator.block_action(message, ActionId.CONFIRM.value),
    )
    assert all(r.status == 200 for r in replies)
    await final_state(slack, message, "succeeded")
    assert len(newsletter.events(since, "restart", "worker")) == 1


async def test_scale_worker_to_five_then_back_to_one(
    operator: SlackUser, slack: SlackFake, newsletter: Dockerd
) -> None:
    await operator.slash_command("compose-scale worker 5")
    message = await preview_message(slack)
    preview = str(message.blocks)
    for number in range(2, 6):
        assert f"newsletter_worker_{number}" in preview
    assert names(newsletter, "worker") == ["newsletter_worker_1"], "the preview must not create anything"
    await operator.block_action(message, ActionId.CONFIRM.value)
    await final_state(slack, message, "succeeded")
    assert names(newsletter, "worker") == [f"newsletter_worker_{n}" for n in range(1, 6)]
    assert states(newsletter, "worker") == ["running"] * 5
    created = newsletter.inspect("newsletter_worker_5")
    assert created["Config"]["Labels"]["com.docker.compose.container-number"] == "5"
    assert created["HostConfig"]["NetworkMode"] == "none"

    await operator.slash_command("compose-scale worker 1")
    message = await preview_message(slack)
    preview = str(message.blocks)
    assert all(f"newsletter_worker_{n}" in preview for n in range(2, 6))
    await operator.block_action(message, ActionId.CONFIRM.value)
    await final_state(slack, message, "succeeded")
    assert names(newsletter, "worker") == ["newsletter_worker_1"]


async def test_containers_the_bot_created_are_the_ones_docker_compose_would_keep(
    operator: SlackUser, slack: SlackFake, newsletter: Dockerd, compose_dir: Path
) -> None:
    """docker-compose recreates containers whose config differs from the file; ours it leaves alone."""
    await operator.slash_command("compose-scale worker 2")
    message = await preview_message(slack)
    await operator.block_action(message, ActionId.CONFIRM.value)
    await final_state(slack, message, "succeeded")
    created_id = newsletter.inspect("newsletter_worker_2")["Id"]
    newsletter.compose("up", "-d", "--scale", "worker=2", workdir=compose_dir)
    assert newsletter.inspect("newsletter_worker_2")["Id"] == created_id


async def test_logs_of_the_worker_show_its_lines_prefixed_by_container(
    operator: SlackUser, slack: SlackFake, newsletter: Dockerd
) -> None:
    await operator.slash_command("compose-logs worker --tail 50")
    message = await answer(slack, "newsletter_worker_1 | ")
    text = str(message.blocks)
    assert "worker ready" in text or "tick" in text


async def test_scale_out_of_bounds_is_refused_before_any_preview(
    operator: SlackUser, slack: SlackFake, newsletter: Dockerd
) -> None:
    reply = await operator.slash_command("compose-scale worker 9")
    assert "between 0 and 5 for worker" in str(reply.json())
    assert slack.last_message("C0OPS") is None
    assert names(newsletter, "worker") == ["newsletter_worker_1"]


async def test_a_service_without_a_compose_target_names_the_ones_that_have_one(
    operator: SlackUser, slack: SlackFake, newsletter: Dockerd
) -> None:
    reply = await operator.slash_command("compose-restart backend")
    text = str(reply.json())
    assert "It works on" in text
    assert "`newsletter-app`" in text and "`worker`" in text and "`email-dashboard`" not in text


async def test_docker_stopping_before_the_run_fails_it_and_frees_the_target(
    operator: SlackUser, slack: SlackFake, newsletter: Dockerd
) -> None:
    await operator.slash_command("compose-restart newsletter-app")
    message = await preview_message(slack)
    newsletter.pause()
    try:
        await operator.block_action(message, ActionId.CONFIRM.value)
        failed = await final_state(slack, message, "failed")
        assert "Docker host default" in str(failed.blocks)
    finally:
        newsletter.resume()
    await operator.slash_command("compose-restart newsletter-app")
    again = await slack.wait_for(
        lambda: (m := slack.last_message("C0OPS")) and m.ts != message.ts and ActionId.CONFIRM.value in str(m.blocks)
    )
    assert again is not None, "the target is free again: a new request gets a preview, not 'busy'"
