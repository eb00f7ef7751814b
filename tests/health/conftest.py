"""Health tests: local HTTP targets on 127.0.0.1 and a catalog whose health URLs point at them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.catalog import Catalog
from bot.k8s import Kube
from sandbox.cluster import SandboxCluster


class HttpTargets:
    """`/ok` answers 200, `/broken` 503, `/hang` never answers (until the server stops)."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._release = asyncio.Event()
        self._hanging: set[asyncio.Task[object]] = set()
        self.port = 0

    async def __aenter__(self) -> HttpTargets:
        app = web.Application()

        async def ok(_: web.Request) -> web.Response:
            return web.json_response({"status": "ok"})

        async def broken(_: web.Request) -> web.Response:
            return web.json_response({"status": "down"}, status=503)

        async def hang(_: web.Request) -> web.Response:
            task = asyncio.current_task()
            assert task is not None
            self._hanging.add(task)
            await self._release.wait()  # released at teardown, so no handler outlives the test
            return web.Response()

        app.router.add_get("/ok", ok)
        app.router.add_get("/broken", broken)
        app.router.add_get("/hang", hang)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._runner is not None
        self._release.set()
        await asyncio.gather(*self._hanging, return_exceptions=True)
        await self._runner.cleanup()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
async def http_targets() -> AsyncIterator[HttpTargets]:
    async with HttpTargets() as targets:
        yield targets


def with_health_urls(catalog: Catalog, urls: dict[str, str], default: str) -> Catalog:
    """The catalog with each service's health_url replaced (services not named get `default`)."""
    services = {
        name: svc.model_copy(update={"health_url": urls.get(name, default)}) for name, svc in catalog.services.items()
    }
    return catalog.model_copy(update={"services": services})


@pytest.fixture
def kube(cluster: SandboxCluster, tmp_path: Path) -> Iterator[Kube]:
    path = cluster.write_kubeconfig(tmp_path / "kubeconfig")
    adapter = Kube(kubeconfig=path, timeout=5)
    yield adapter
    adapter.close()
