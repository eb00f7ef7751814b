"""One Docker Engine API client per Docker host, over its unix socket or tcp://, each call with a timeout.

aiohttp and socket errors become `bot.errors` here (UnavailableError names the host), so nothing
from aiohttp leaks into the actions.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from bot import errors
from bot.catalog_targets import DockerHost

# The Engine API version docker-compose 1.29 and the docker 20.10 CLI speak; every engine since supports it.
API_VERSION = "v1.41"
DEFAULT_SOCKET = "unix:///var/run/docker.sock"


class Engine:
    """Calls to one Docker host. Build through `Engines`; closed with them."""

    def __init__(self, name: str, url: str, *, timeout: float) -> None:
        self.name = name
        self.url = url
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def dependency(self) -> errors.Said:
        """The host as an outage names it: its catalog name and address, worded by the book."""
        return errors.Said("docker_host", host=self.name, url=self.url)

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            if self.url.startswith("unix://"):
                connector: aiohttp.BaseConnector = aiohttp.UnixConnector(path=self.url.removeprefix("unix://"))
                base = "http://docker"
            else:
                connector = aiohttp.TCPConnector()
                base = "http://" + self.url.removeprefix("tcp://")
            self._session = aiohttp.ClientSession(base_url=base, connector=connector)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        raw: bool = False,
        extra_seconds: float = 0.0,
    ) -> Any:
        """One Engine API call: JSON (or raw bytes) back, or a bot error. `extra_seconds` covers calls
        that wait by design (a stop waits up to its stop timeout before it answers)."""
        limit = self.timeout + extra_seconds
        try:
            async with asyncio.timeout(limit):
                async with self._open().request(method, f"/{API_VERSION}{path}", params=params, json=body) as resp:
                    status, data = resp.status, await resp.read()
        except TimeoutError:
            raise errors.UnavailableError(self.dependency, errors.Said("no_answer_within", seconds=limit)) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise errors.UnavailableError(self.dependency, str(exc) or type(exc).__name__) from exc
        if status >= 400:
            message = _message(data)
            if status == 404:
                raise errors.NotFoundError("docker_not_found", host=self.name, message=message)
            request = f"{method} {path.split('?')[0]}"
            raise errors.TargetError("docker_refused", host=self.name, request=request, message=message)
        if raw:
            return data
        return json.loads(data) if data else None


def _message(data: bytes) -> str:
    try:
        return str(json.loads(data).get("message", "")) or data.decode(errors="replace")[:200]
    except (ValueError, AttributeError):
        return data.decode(errors="replace")[:200]


class Engines:
    """The Docker hosts of the catalog, by name. A host without a url is $DOCKER_HOST or the local socket."""

    def __init__(self, hosts: Mapping[str, DockerHost], *, default_url: str | None, timeout: float) -> None:
        fallback = default_url or DEFAULT_SOCKET
        self._engines = {name: Engine(name, host.url or fallback, timeout=timeout) for name, host in hosts.items()}

    def get(self, name: str) -> Engine:
        try:
            return self._engines[name]
        except KeyError:  # the catalog check makes this a programming error, not a user's
            raise errors.NotFoundError("no_docker_host", host=errors.Code(name)) from None

    async def close(self) -> None:
        for engine in self._engines.values():
            await engine.close()
