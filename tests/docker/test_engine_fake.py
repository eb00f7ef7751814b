"""bot/docker's compose operations, with the same assertions on a real dockerd and on the sandbox's
Docker Engine fake (so the fake the shell uses answers like the engine for the calls the bot makes)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot import errors
from bot.catalog_targets import ComposeTarget, DockerHost
from bot.docker import Compose, Engines
from bot.ids import ActionId
from sandbox.docker_engine import DockerEngineFake
from sandbox.slack_fake import SlackFake
from tests.conftest import MakeBot, user_of
from tests.flows import final_state, preview_message

WORKER = ComposeTarget(project="newsletter", service="worker", stop_timeout=5)
APP = ComposeTarget(project="newsletter", service="newsletter-app", stop_timeout=5)


@pytest.fixture(params=["dockerd", "fake"])
async def compose(request: pytest.FixtureRequest) -> AsyncIterator[Compose]:
    """Compose operations on runbook 002's project: one running container per service."""
    if request.param == "dockerd":
        url = request.getfixturevalue("newsletter").url  # skips, saying why, without dockerd
        engines = Engines({"default": DockerHost(url=url)}, default_url=None, timeout=10)
        yield Compose(engines)
        await engines.close()
        return
    async with DockerEngineFake() as fake:
        fake.add_service("newsletter", "newsletter-app")
        fake.add_service("newsletter", "worker")
        engines = Engines({"default": DockerHost(url=fake.url)}, default_url=None, timeout=10)
        yield Compose(engines)
        await engines.close()


async def test_containers_are_found_by_compose_labels_and_numbered(compose: Compose) -> None:
    found = await compose.containers(WORKER)
    assert [(c.name, c.number, c.state) for c in found] == [("newsletter_worker_1", 1, "running")]


async def test_status_reads_state_restarts_uptime_and_image(compose: Compose) -> None:
    [row] = await compose.status(WORKER)
    assert (row.name, row.state, row.restarts, row.health) == ("newsletter_worker_1", "running", 0, None)
    assert row.started_at is not None and row.image


async def test_scale_creates_the_next_numbers_then_removes_the_highest(compose: Compose) -> None:
    plan = await compose.plan_scale(WORKER, 3)
    assert plan.create == ("newsletter_worker_2", "newsletter_worker_3") and plan.remove == ()
    await compose.scale(WORKER, plan)
    found = await compose.containers(WORKER)
    assert [(c.number, c.state) for c in found] == [(1, "running"), (2, "running"), (3, "running")]
    down = await compose.plan_scale(WORKER, 1)
    assert [c.name for c in down.remove] == ["newsletter_worker_3", "newsletter_worker_2"]
    await compose.scale(WORKER, down)
    assert [c.name for c in await compose.containers(WORKER)] == ["newsletter_worker_1"]


async def test_restart_starts_the_container_again(compose: Compose) -> None:
    [before] = await compose.status(APP)
    await compose.restart(APP, await compose.containers(APP))
    [after] = await compose.status(APP)
    assert after.state == "running"
    assert after.started_at is not None and before.started_at is not None and after.started_at > before.started_at


async def test_stop_then_start(compose: Compose) -> None:
    containers = await compose.containers(WORKER)
    await compose.stop(WORKER, containers)
    assert [c.state for c in await compose.containers(WORKER)] == ["exited"]
    await compose.start(WORKER, containers)
    assert [c.state for c in await compose.containers(WORKER)] == ["running"]


async def test_logs_are_prefixed_by_container_and_tailed(compose: Compose) -> None:
    logs = await compose.logs(WORKER, tail=2, since_seconds=None, grep=None, max_bytes=10_000)
    lines = logs.text.splitlines()
    assert 1 <= len(lines) <= 2
    assert all(line.startswith("newsletter_worker_1 | ") for line in lines)
    none = await compose.logs(WORKER, tail=50, since_seconds=None, grep="no such text", max_bytes=10_000)
    assert none.text == ""


async def test_an_unknown_compose_service_is_not_found(compose: Compose) -> None:
    with pytest.raises(errors.NotFoundError, match="no containers of compose service nope"):
        await compose.containers(
            ComposeTarget(project="newsletter", service="nope")
        ) or await compose.must_have_containers(ComposeTarget(project="newsletter", service="nope"))


async def test_an_unreachable_docker_host_is_one_line_naming_it() -> None:
    engines = Engines({"edge": DockerHost(url="unix:///nonexistent/docker.sock")}, default_url=None, timeout=2)
    try:
        with pytest.raises(errors.UnavailableError, match=r"Docker host edge \(unix:///nonexistent/docker.sock\)"):
            await Compose(engines).containers(ComposeTarget(host="edge", project="p", service="s"))
    finally:
        await engines.close()


async def test_a_container_that_fails_to_restart_fails_the_run_with_its_reason_and_frees_the_target(
    make_bot: MakeBot, slack: SlackFake
) -> None:
    async with DockerEngineFake() as fake:
        fake.add_service("newsletter", "newsletter-app")
        fake.refuse_restart["newsletter_newsletter-app_1"] = "cannot restart: OCI runtime error"
        bot = await make_bot(DOCKER_HOST=fake.url)
        async with user_of(bot, slack, "U0ALICE") as alice:
            await alice.slash_command("compose-restart newsletter-app")
            message = await preview_message(slack)
            await alice.block_action(message, ActionId.CONFIRM.value)
            failed = await final_state(slack, message, "failed")
            assert "OCI runtime error" in str(failed.blocks)
            fake.refuse_restart.clear()
            await alice.slash_command("compose-restart newsletter-app")
            again = await preview_message(slack)
            assert again.ts != message.ts, "the target is free again: a new request gets a preview, not 'busy'"


async def test_docker_hanging_between_steps_fails_the_run_naming_the_host_and_frees_the_target(
    make_bot: MakeBot, slack: SlackFake
) -> None:
    async with DockerEngineFake() as fake:
        fake.add_service("newsletter", "newsletter-app")
        bot = await make_bot(DOCKER_HOST=fake.url, DOCKER_TIMEOUT="1")
        async with user_of(bot, slack, "U0ALICE") as alice:
            await alice.slash_command("compose-restart newsletter-app")
            message = await preview_message(slack)
            fake.freeze_after("restart")  # step 1 restarts; the daemon hangs before step 2 reads status
            await alice.block_action(message, ActionId.CONFIRM.value)
            failed = await final_state(slack, message, "failed")
            text = str(failed.blocks)
            assert "Restarted 1 container of newsletter-app" in text
            assert f"Docker host default ({fake.url}) is unavailable" in text
            assert len(fake.requests_to("/restart", "POST")) == 1
            fake.thaw()
            await alice.slash_command("compose-restart newsletter-app")
            again = await preview_message(slack)
            assert again.ts != message.ts, "the target is free again: a new request gets a preview, not 'busy'"
