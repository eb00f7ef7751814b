"""A recording proxy on a unix socket in front of dockerd: what a client asked the engine, in order.

The compose fidelity tests point docker-compose and the bot at it in turn and compare the calls."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection"}


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # without the /v1.xx prefix
    query: tuple[tuple[str, str], ...]


class RecordingProxy:
    def __init__(self, engine_socket: str, socket_path: Path) -> None:
        self._engine = engine_socket
        self.socket_path = socket_path
        self.calls: list[Call] = []
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    async def __aenter__(self) -> RecordingProxy:
        self._client = aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=self._engine))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.UnixSite(self._runner, str(self.socket_path)).start()
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._client is not None:
            await self._client.close()

    async def _forward(self, request: web.Request) -> web.Response:
        path = re.sub(r"^/v1\.\d+", "", request.path)
        self.calls.append(Call(request.method, path, tuple(sorted(request.query.items()))))
        assert self._client is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with self._client.request(
            request.method, f"http://docker{request.path_qs}", data=await request.read(), headers=headers
        ) as resp:
            body = await resp.read()
            out = {k: v for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP}
            return web.Response(status=resp.status, body=body, headers=out)

    def changes(self, names: dict[str, str]) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
        """The calls that change something (POST, DELETE), with container ids replaced by names."""
        shown = []
        for call in self.calls:
            if call.method not in ("POST", "DELETE"):
                continue
            path = call.path
            for container_id, name in names.items():
                path = path.replace(container_id, name)
            shown.append((call.method, path, call.query))
        return shown
