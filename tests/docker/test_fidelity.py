"""Fidelity: the Engine API calls that change things, made by the bot and by docker-compose 1.29
for the same command, recorded on the socket by a proxy and compared (like tests/k8s/test_fidelity.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.catalog_targets import ComposeTarget, DockerHost
from bot.docker import Compose, Engines
from tests.docker.dockerd import Dockerd
from tests.docker.recording_proxy import RecordingProxy

WORKER = ComposeTarget(project="newsletter", service="worker", stop_timeout=10)


@pytest.fixture
async def proxy(newsletter: Dockerd) -> AsyncIterator[RecordingProxy]:
    socket = Path(newsletter.socket_path).parent / "proxy.sock"
    async with RecordingProxy(newsletter.socket_path, socket) as recording:
        yield recording


def ids_to_names(engine: Dockerd) -> dict[str, str]:
    found = engine.containers("worker") + engine.containers("newsletter-app")
    return {c["Id"]: c["Names"][0].lstrip("/") for c in found}


async def compose_cli(engine: Dockerd, proxy: RecordingProxy, compose_dir: Path, *args: str) -> None:
    """docker-compose through the proxy (in a thread: the proxy answers on this event loop)."""
    at_proxy = Dockerd(str(proxy.socket_path))
    await asyncio.to_thread(at_proxy.compose, *args, workdir=compose_dir)


async def bot_calls(proxy: RecordingProxy, work: str, replicas: int = 0) -> None:
    engines = Engines({"default": DockerHost(url=proxy.url)}, default_url=None, timeout=30)
    compose = Compose(engines)
    try:
        if work == "restart":
            await compose.restart(WORKER, await compose.containers(WORKER))
        else:
            await compose.scale(WORKER, await compose.plan_scale(WORKER, replicas))
    finally:
        await engines.close()


async def test_restart_makes_docker_composes_calls(
    newsletter: Dockerd, proxy: RecordingProxy, compose_dir: Path
) -> None:
    names = ids_to_names(newsletter)
    await compose_cli(newsletter, proxy, compose_dir, "restart", "worker")
    theirs = proxy.changes(names)
    proxy.calls.clear()
    await bot_calls(proxy, "restart")
    assert proxy.changes(names) == theirs == [("POST", "/containers/newsletter_worker_1/restart", (("t", "10"),))]


async def test_scale_down_makes_docker_composes_calls(
    newsletter: Dockerd, proxy: RecordingProxy, compose_dir: Path
) -> None:
    newsletter.compose("up", "-d", "--scale", "worker=3", workdir=compose_dir)
    names = ids_to_names(newsletter)
    await compose_cli(newsletter, proxy, compose_dir, "up", "-d", "--scale", "worker=2", "worker")
    theirs = [c for c in proxy.changes(names) if "newsletter_worker_3" in c[1]]
    newsletter.compose("up", "-d", "--scale", "worker=3", workdir=compose_dir)
    names = ids_to_names(newsletter)
    proxy.calls.clear()
    await bot_calls(proxy, "scale", 2)
    ours = proxy.changes(names)
    assert ours == theirs


async def test_scale_up_creates_and_starts_the_next_number_as_docker_compose_does(
    newsletter: Dockerd, proxy: RecordingProxy, compose_dir: Path
) -> None:
    await compose_cli(newsletter, proxy, compose_dir, "up", "-d", "--scale", "worker=2", "worker")
    theirs = [(m, p, q) for m, p, q in proxy.changes(ids_to_names(newsletter)) if p.startswith("/containers")]
    newsletter.compose("up", "-d", "--scale", "worker=1", workdir=compose_dir)
    proxy.calls.clear()
    await bot_calls(proxy, "scale", 2)
    ours = [(m, p, q) for m, p, q in proxy.changes(ids_to_names(newsletter)) if p.startswith("/containers")]
    assert ours == theirs
