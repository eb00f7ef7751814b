"""docker-compose's operations on one compose service, through the Engine API calls docker-compose makes.

Containers belong to a service by compose's labels (project, service, oneoff=False) and are
numbered by `com.docker.compose.container-number`. Scaling up creates containers from the config of
the service's highest-numbered container (what `docker-compose up --scale` does from the compose
file); scaling down stops and removes the highest-numbered ones.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot import errors
from bot.catalog_targets import ComposeTarget
from bot.docker.engine import Engine, Engines

PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
NUMBER = "com.docker.compose.container-number"
ONEOFF = "com.docker.compose.oneoff"
# Fields of an inspected container's Config that belong to that one container, not to the service.
PER_CONTAINER_CONFIG = ("Hostname",)


@dataclass(frozen=True)
class Container:
    id: str
    name: str
    number: int
    state: str  # running, exited, created, paused, restarting


@dataclass(frozen=True)
class ContainerStatus:
    name: str
    number: int
    state: str
    health: str | None  # healthy, unhealthy, starting; None without a healthcheck
    restarts: int
    started_at: datetime | None
    image: str


@dataclass(frozen=True)
class ScalePlan:
    current: tuple[Container, ...]
    create: tuple[str, ...]  # names of the containers to create, in order
    remove: tuple[Container, ...]  # highest number first


@dataclass(frozen=True)
class Logs:
    text: str
    containers: tuple[str, ...]
    truncated: bool


def container_name(target: ComposeTarget, number: int) -> str:
    """docker-compose 1.x's name for a service's Nth container."""
    return f"{target.project}_{target.service}_{number}"


def _parse_time(value: str | None) -> datetime | None:
    if not value or value.startswith("0001-"):
        return None
    trimmed = re.sub(r"(\.\d{6})\d*", r"\1", value).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(trimmed).astimezone(UTC)
    except ValueError:
        return None


def demultiplex(raw: bytes) -> str:
    """The Engine's log stream without a TTY: 8-byte frame headers (stream, size) before each chunk."""
    out: list[bytes] = []
    index = 0
    while index + 8 <= len(raw) and raw[index] in (0, 1, 2):
        size = int.from_bytes(raw[index + 4 : index + 8], "big")
        out.append(raw[index + 8 : index + 8 + size])
        index += 8 + size
    if index == 0:  # a TTY container: the stream is the bare text
        return raw.decode(errors="replace")
    return b"".join(out).decode(errors="replace")


class Compose:
    """Every compose operation of the bot, on the Docker hosts of the catalog."""

    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    def _engine(self, target: ComposeTarget) -> Engine:
        return self._engines.get(target.host)

    async def _list(self, target: ComposeTarget, labels: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self._engine(target).call(
            "GET", "/containers/json", params={"all": "1", "filters": json.dumps({"label": labels})}
        )
        return found

    async def containers(self, target: ComposeTarget) -> tuple[Container, ...]:
        """The service's containers (stopped ones too), lowest number first — `docker-compose ps SERVICE`."""
        labels = [f"{PROJECT}={target.project}", f"{SERVICE}={target.service}", f"{ONEOFF}=False"]
        found = await self._list(target, labels)
        containers = [
            Container(
                id=c["Id"],
                name=c["Names"][0].lstrip("/") if c.get("Names") else c["Id"][:12],
                number=int(c.get("Labels", {}).get(NUMBER, "0") or 0),
                state=c.get("State", "unknown"),
            )
            for c in found
        ]
        return tuple(sorted(containers, key=lambda c: c.number))

    async def must_have_containers(self, target: ComposeTarget) -> tuple[Container, ...]:
        found = await self.containers(target)
        if not found:
            project = await self._list(target, [f"{PROJECT}={target.project}"])
            services = sorted({c.get("Labels", {}).get(SERVICE, "?") for c in project})
            raise errors.NotFoundError(
                "no_compose_containers",
                service=target.service,
                project=target.project,
                host=target.host,
                services=services,
            )
        return found

    async def status(self, target: ComposeTarget) -> tuple[ContainerStatus, ...]:
        rows = []
        engine = self._engine(target)
        for c in await self.containers(target):
            info = await engine.call("GET", f"/containers/{c.id}/json")
            state = info.get("State", {})
            rows.append(
                ContainerStatus(
                    name=c.name,
                    number=c.number,
                    state=state.get("Status", c.state),
                    health=(state.get("Health") or {}).get("Status"),
                    restarts=int(info.get("RestartCount", 0)),
                    started_at=_parse_time(state.get("StartedAt")) if state.get("Running") else None,
                    image=info.get("Config", {}).get("Image", ""),
                )
            )
        return tuple(rows)

    async def restart(self, target: ComposeTarget, containers: tuple[Container, ...]) -> None:
        """`docker-compose restart SERVICE`: each container in turn, stopped with the stop timeout."""
        await self._each(target, containers, "restart", stopping=True)

    async def stop(self, target: ComposeTarget, containers: tuple[Container, ...]) -> None:
        await self._each(target, containers, "stop", stopping=True)

    async def start(self, target: ComposeTarget, containers: tuple[Container, ...]) -> None:
        await self._each(target, containers, "start", stopping=False)

    async def _each(
        self, target: ComposeTarget, containers: tuple[Container, ...], verb: str, *, stopping: bool
    ) -> None:
        """`POST /containers/{id}/{verb}` on each container in turn. A verb that stops a container gives it
        the target's stop timeout (`t`), and the call that long beyond its own timeout."""
        engine = self._engine(target)
        params = {"t": str(target.stop_timeout)} if stopping else None
        extra_seconds = float(target.stop_timeout) if stopping else 0.0
        for c in containers:
            try:
                await engine.call("POST", f"/containers/{c.id}/{verb}", params=params, extra_seconds=extra_seconds)
            except errors.TargetError as exc:
                raise errors.TargetError("container_verb_failed", verb=verb, container=c.name, error=str(exc)) from exc
            except errors.NotFoundError as exc:
                raise errors.TargetError("container_gone", verb=verb, container=c.name, error=str(exc)) from exc

    async def logs(
        self, target: ComposeTarget, *, tail: int, since_seconds: int | None, grep: str | None, max_bytes: int
    ) -> Logs:
        """`docker-compose logs --tail N SERVICE`, each line prefixed with its container, filtered, capped."""
        engine = self._engine(target)
        params = {"stdout": "1", "stderr": "1", "tail": str(tail)}
        if since_seconds is not None:
            params["since"] = str(int(datetime.now(UTC).timestamp()) - since_seconds)
        containers = await self.must_have_containers(target)
        lines: list[str] = []
        for c in containers:
            raw = await engine.call("GET", f"/containers/{c.id}/logs", params=params, raw=True)
            for line in demultiplex(raw).splitlines():
                if grep is None or grep.lower() in line.lower():
                    lines.append(f"{c.name} | {line}")
        text = "\n".join(lines)
        truncated = len(text.encode()) > max_bytes
        if truncated:  # keep the newest lines: they are the ones an incident needs
            text = text.encode()[-max_bytes:].decode(errors="ignore").partition("\n")[2]
        return Logs(text=text, containers=tuple(c.name for c in containers), truncated=truncated)

    async def plan_scale(self, target: ComposeTarget, replicas: int) -> ScalePlan:
        current = await self.must_have_containers(target)
        if replicas > len(current):
            highest = max(c.number for c in current)
            numbers = range(highest + 1, highest + 1 + replicas - len(current))
            return ScalePlan(current, tuple(container_name(target, n) for n in numbers), ())
        remove = tuple(sorted(current, key=lambda c: c.number, reverse=True)[: len(current) - replicas])
        return ScalePlan(current, (), remove)

    async def scale(self, target: ComposeTarget, plan: ScalePlan) -> None:
        """Carry out a plan: create and start each new container, or stop and remove the surplus."""
        engine = self._engine(target)
        if plan.create:
            template = await engine.call("GET", f"/containers/{plan.current[-1].id}/json")
            for name in plan.create:
                number = int(name.rsplit("_", 1)[1])
                created = await engine.call(
                    "POST", "/containers/create", params={"name": name}, body=_create_body(template, number)
                )
                await engine.call("POST", f"/containers/{created['Id']}/start")
        for c in plan.remove:
            await self._each(target, (c,), "stop", stopping=True)
            # The query docker-compose sends: keep volumes and links, never force (it was just stopped).
            await engine.call("DELETE", f"/containers/{c.id}", params={"v": "False", "link": "False", "force": "False"})


def _create_body(template: dict[str, Any], number: int) -> dict[str, Any]:
    """A create request for container N of the service, from an inspected sibling."""
    config = {k: v for k, v in template.get("Config", {}).items() if k not in PER_CONTAINER_CONFIG}
    config["Labels"] = {**config.get("Labels", {}), NUMBER: str(number)}
    host_config = template.get("HostConfig", {})
    networks = template.get("NetworkSettings", {}).get("Networks", {}) or {}
    mode = host_config.get("NetworkMode", "")
    body = {**config, "HostConfig": host_config}
    if mode in networks:  # the service's primary network, with its aliases but not the old container's id
        aliases = [a for a in (networks[mode].get("Aliases") or []) if a != template["Id"][:12]]
        body["NetworkingConfig"] = {"EndpointsConfig": {mode: {"Aliases": aliases}}}
    return body
