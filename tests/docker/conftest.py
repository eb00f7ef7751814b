"""Fixtures for the compose tests: a real Docker Engine (ours, unless DOCKER_HOST points at one),
runbook 002's project on it, and a bot whose catalog's default Docker host is that engine."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.app import BotProcess
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from tests.conftest import MakeBot, user_of
from tests.docker.dockerd import (
    COMPOSE_FILE,
    Dockerd,
    import_image,
    private_dockerd,
    reset_project,
    why_dockerd_cannot_start,
)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Dockerd]:
    given = os.environ.get("DOCKER_HOST")
    if given:
        if not given.startswith("unix://"):
            pytest.skip(f"DOCKER_HOST={given}: these tests drive a local unix socket")
        engine = Dockerd(given.removeprefix("unix://"))
        import_image(engine)
        yield engine
        return
    reason = why_dockerd_cannot_start()
    if reason is not None:
        print(f"\nSKIPPED Docker Engine tests: {reason}")
        pytest.skip(reason)
    with private_dockerd() as engine:
        import_image(engine)
        yield engine


@pytest.fixture(scope="session")
def compose_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("newsletter")
    (folder / "docker-compose.yml").write_text(COMPOSE_FILE, encoding="utf-8")
    return folder


@pytest.fixture
def newsletter(docker_engine: Dockerd, compose_dir: Path) -> Dockerd:
    """Runbook 002's project, one running container per service, at the start of every test."""
    reset_project(docker_engine, compose_dir)
    return docker_engine


@pytest.fixture
async def compose_bot(make_bot: MakeBot, newsletter: Dockerd) -> BotProcess:
    return await make_bot(DOCKER_HOST=newsletter.url, DOCKER_TIMEOUT="3")


@pytest.fixture
async def operator(compose_bot: BotProcess, slack: SlackFake) -> AsyncIterator[SlackUser]:
    async with user_of(compose_bot, slack, "U0ALICE") as user:
        yield user


@pytest.fixture
async def second_operator(compose_bot: BotProcess, slack: SlackFake) -> AsyncIterator[SlackUser]:
    async with user_of(compose_bot, slack, "U0BOB") as user:
        yield user


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist the compose tests share one worker, so one private dockerd serves them all."""
    for item in items:
        if item.path.is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.xdist_group("dockerd"))
