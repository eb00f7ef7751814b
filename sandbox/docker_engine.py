"""A fake Docker Engine API on loopback for `runbook-bot shell` and tests on machines without Docker.

It answers the calls bot/docker makes (and only those), the way Engine 20.10 (API v1.41) does:
containers listed by compose labels, inspected, their logs as multiplexed frames, restarted,
stopped, started, created from a body and removed. tests/docker/test_engine_fake.py runs the same
assertions against this fake and a real dockerd. Seeded from the catalog's compose targets.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.catalog import Catalog

API = "/v1.41"
LOG_LINES = ("started", "listening on :3000", "tick", "tick", "tick")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


@dataclass
class FakeContainer:
    id: str
    name: str
    config: dict[str, Any]
    host_config: dict[str, Any]
    running: bool = False
    started_at: str = "0001-01-01T00:00:00Z"
    finished_at: str = "0001-01-01T00:00:00Z"
    restarts: int = 0
    logs: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        return "running" if self.running else ("exited" if self.started_at[:4] != "0001" else "created")

    def summary(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "Names": [f"/{self.name}"],
            "Image": self.config.get("Image", ""),
            "Labels": self.config.get("Labels", {}),
            "State": self.state,
            "Status": "Up" if self.running else "Exited (0)",
        }

    def inspect(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "Name": f"/{self.name}",
            "RestartCount": self.restarts,
            "State": {
                "Status": self.state,
                "Running": self.running,
                "StartedAt": self.started_at,
                "FinishedAt": self.finished_at,
            },
            "Config": {**self.config, "Hostname": self.id[:12]},
            "HostConfig": self.host_config,
            "NetworkSettings": {"Networks": {}},
        }

    def start(self) -> None:
        self.running, self.started_at = True, _now()
        self.logs.extend(LOG_LINES[:2])

    def stop(self) -> None:
        if self.running:
            self.running, self.finished_at = False, _now()


@dataclass(frozen=True)
class EngineRequest:
    method: str
    path: str  # without the API version prefix
    query: dict[str, str]


class DockerEngineFake:
    def __init__(self) -> None:
        self.containers: dict[str, FakeContainer] = {}
        self.requests: list[EngineRequest] = []
        self.refuse_restart: dict[str, str] = {}  # container name → the Engine's error message
        self._freeze_after: str | None = None  # after a request to a path ending so, answer nothing more
        self._thawed = asyncio.Event()
        self._thawed.set()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(middlewares=[self._record])
        app.router.add_get(API + "/containers/json", self._list)
        app.router.add_get(API + "/containers/{ref}/json", self._inspect)
        app.router.add_get(API + "/containers/{ref}/logs", self._logs)
        app.router.add_post(API + "/containers/create", self._create)
        app.router.add_post(API + "/containers/{ref}/{verb:restart|stop|start}", self._lifecycle)
        app.router.add_delete(API + "/containers/{ref}", self._remove)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"tcp://127.0.0.1:{port}"

    async def stop(self) -> None:
        self.thaw()  # hanging requests finish, so the server can close
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DockerEngineFake:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # -- seeding and inspection for tests ----------------------------------------------------
    def seed_from_catalog(self, catalog: Catalog) -> None:
        """One running container per compose target, as `docker-compose up -d` leaves a project."""
        for service in catalog.services.values():
            if service.compose is not None:
                self.add_service(service.compose.project, service.compose.service)

    def add_service(self, project: str, service: str, count: int = 1) -> None:
        for number in range(1, count + 1):
            labels = {
                "com.docker.compose.project": project,
                "com.docker.compose.service": service,
                "com.docker.compose.container-number": str(number),
                "com.docker.compose.oneoff": "False",
            }
            config = {"Image": f"{project}-{service}:latest", "Labels": labels, "Cmd": ["run"]}
            container = self._new(f"{project}_{service}_{number}", config, {"NetworkMode": f"{project}_default"})
            container.start()
            container.logs.extend(LOG_LINES[2:])

    def freeze_after(self, verb: str) -> None:
        """A daemon that hangs mid-run: once a `POST …/{verb}` has been answered, every later request
        waits (the client's timeout is what ends it) until `thaw()`."""
        self._freeze_after = verb

    def thaw(self) -> None:
        self._freeze_after = None
        self._thawed.set()

    def named(self, name: str) -> FakeContainer:
        return next(c for c in self.containers.values() if c.name == name)

    def requests_to(self, part: str, method: str | None = None) -> list[EngineRequest]:
        return [r for r in self.requests if part in r.path and (method is None or r.method == method)]

    # -- the API -----------------------------------------------------------------------------
    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(EngineRequest(request.method, request.path.removeprefix(API), dict(request.query)))
        await self._thawed.wait()
        response: web.StreamResponse = await handler(request)
        if self._freeze_after is not None and request.path.endswith(f"/{self._freeze_after}"):
            self._thawed.clear()
        return response

    def _new(self, name: str, config: dict[str, Any], host_config: dict[str, Any]) -> FakeContainer:
        container = FakeContainer(secrets.token_hex(32), name, config, host_config)
        self.containers[container.id] = container
        return container

    def _find(self, ref: str) -> FakeContainer:
        for container in self.containers.values():
            if container.id == ref or container.id.startswith(ref) or container.name == ref:
                return container
        raise _error(404, f"No such container: {ref}")

    async def _list(self, request: web.Request) -> web.Response:
        wanted = json.loads(request.query.get("filters", "{}")).get("label", [])
        show_all = request.query.get("all") in ("1", "true")
        found = [
            c.summary()
            for c in self.containers.values()
            if (show_all or c.running) and all(_has_label(c, label) for label in wanted)
        ]
        return web.json_response(found)

    async def _inspect(self, request: web.Request) -> web.Response:
        return web.json_response(self._find(request.match_info["ref"]).inspect())

    async def _logs(self, request: web.Request) -> web.Response:
        container = self._find(request.match_info["ref"])
        tail = request.query.get("tail", "all")
        lines = container.logs if tail == "all" else container.logs[-int(tail) :] if int(tail) else []
        frames = b"".join(
            b"\x01\x00\x00\x00" + len(data).to_bytes(4, "big") + data for data in (f"{ln}\n".encode() for ln in lines)
        )
        return web.Response(body=frames, content_type="application/vnd.docker.raw-stream")

    async def _create(self, request: web.Request) -> web.Response:
        name = request.query.get("name") or f"container_{len(self.containers) + 1}"
        if any(c.name == name for c in self.containers.values()):
            raise _error(409, f'Conflict. The container name "/{name}" is already in use')
        body = await request.json()
        host_config = body.pop("HostConfig", {})
        body.pop("NetworkingConfig", None)
        container = self._new(name, body, host_config)
        return web.json_response({"Id": container.id, "Warnings": []}, status=201)

    async def _lifecycle(self, request: web.Request) -> web.Response:
        container = self._find(request.match_info["ref"])
        verb = request.match_info["verb"]
        if verb == "restart":
            if container.name in self.refuse_restart:
                raise _error(500, self.refuse_restart[container.name])
            container.stop()  # RestartCount stays: like Docker, it counts restart-policy restarts only
            container.start()
        elif verb == "stop":
            if not container.running:
                return web.Response(status=304)
            container.stop()
        else:
            if container.running:
                return web.Response(status=304)
            container.start()
        return web.Response(status=204)

    async def _remove(self, request: web.Request) -> web.Response:
        container = self._find(request.match_info["ref"])
        if container.running and request.query.get("force") not in ("1", "true"):
            raise _error(409, f"You cannot remove a running container {container.id}. Stop the container first")
        del self.containers[container.id]
        return web.Response(status=204)


def _has_label(container: FakeContainer, label: str) -> bool:
    key, _, value = label.partition("=")
    labels = container.config.get("Labels", {})
    return key in labels and (not value or labels[key] == value)


def _error(status: int, message: str) -> web.HTTPException:
    reasons = {404: web.HTTPNotFound, 409: web.HTTPConflict, 500: web.HTTPInternalServerError}
    return reasons[status](text=json.dumps({"message": message}), content_type="application/json")
