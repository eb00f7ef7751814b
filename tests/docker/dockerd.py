"""A private Docker Engine for the tests: dockerd in a temporary directory, a busybox image built
locally (no registry is reachable), and runbook 002's compose project brought up by docker-compose."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IMAGE = "runbook-bot-test/busybox:latest"
PROJECT = "newsletter"
# Commands that exit on SIGTERM, so a restart or stop takes well under the stop timeout.
TICKER = "trap 'exit 0' TERM; while true; do echo tick; sleep 1; done"
COMPOSE_FILE = f"""\
version: "2.4"
services:
  newsletter-app:
    image: {IMAGE}
    network_mode: none
    command: ["sh", "-c", "echo started; {TICKER}"]
  worker:
    image: {IMAGE}
    network_mode: none
    command: ["sh", "-c", "echo worker ready; {TICKER}"]
"""
BUSYBOX_APPLETS = ("sh", "sleep", "echo", "cat", "true")


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 30.0) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


@dataclass
class Dockerd:
    """A running engine: its socket, and the process when these tests started it."""

    socket_path: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def api(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        stream: bool = False,
    ) -> Any:
        conn = UnixHTTPConnection(self.socket_path)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if resp.status >= 400:
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:300]!r}")
        if stream or not data or not resp.getheader("Content-Type", "").startswith("application/json"):
            return data
        return json.loads(data)

    def containers(self, service: str) -> list[dict[str, Any]]:
        labels = [f"com.docker.compose.project={PROJECT}", f"com.docker.compose.service={service}"]
        query = urllib.parse.quote(json.dumps({"label": labels}))
        found = self.api("GET", f"/containers/json?all=1&filters={query}")
        return sorted(found, key=lambda c: int(c["Labels"]["com.docker.compose.container-number"]))

    def inspect(self, container_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.api("GET", f"/containers/{container_id}/json")
        return result

    def events(self, since: float, event: str, service: str) -> list[dict[str, Any]]:
        """Container events of one kind for one compose service since then (the engine's own record of
        what was done). The engine answers a stream of JSON objects, one per line, whatever the count."""
        labels = [f"com.docker.compose.project={PROJECT}", f"com.docker.compose.service={service}"]
        query = urllib.parse.quote(json.dumps({"type": ["container"], "event": [event], "label": labels}))
        raw = self.api("GET", f"/events?since={since:.3f}&until={time.time():.3f}&filters={query}", stream=True)
        return [json.loads(line) for line in raw.decode().splitlines() if line.strip()]

    def compose(self, *args: str, workdir: Path) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DOCKER_HOST": self.url, "COMPOSE_INTERACTIVE_NO_CLI": "1"}
        return subprocess.run(  # noqa: S603 - a fixed argv, no shell
            [_tool("docker-compose"), "-p", PROJECT, "-f", str(workdir / "docker-compose.yml"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
        )

    def pause(self) -> None:
        """Docker stops answering (SIGSTOP): every call from then on times out."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path is not None, f"{name} is not installed"
    return path


def why_dockerd_cannot_start() -> str | None:
    if os.geteuid() != 0:
        return "dockerd needs root here (not root): the Docker Engine tests are skipped"
    for tool in ("dockerd", "docker-compose"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install docker.io docker-compose busybox-static)"
    if not Path("/bin/busybox").exists():
        return "/bin/busybox is missing (apt-get install busybox-static)"
    return None


def _wait(condition: Any, what: str, deadline_seconds: float) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, RuntimeError, http.client.HTTPException):
            if condition():
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} within {deadline_seconds:g}s")


@contextlib.contextmanager
def private_dockerd() -> Iterator[Dockerd]:
    """dockerd with no networking of its own, vfs storage, everything under one short temp dir."""
    root = Path(tempfile.mkdtemp(prefix="rbd", dir="/tmp"))  # unix socket paths must stay short
    log = (root / "dockerd.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - a fixed argv, no shell
        [
            _tool("dockerd"),
            "--iptables=false",
            "--ip-masq=false",
            "--bridge=none",
            "--storage-driver=vfs",
            f"--data-root={root / 'data'}",
            f"--exec-root={root / 'exec'}",
            f"--pidfile={root / 'dockerd.pid'}",
            "-H",
            f"unix://{root / 'd.sock'}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    engine = Dockerd(str(root / "d.sock"), process)
    try:
        _wait(lambda: engine.api("GET", "/_ping") == b"OK", "dockerd did not answer", 90)
        yield engine
    finally:
        engine.resume()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


def busybox_rootfs() -> bytes:
    """A root filesystem tar: /bin/busybox and a symlink per applet the test commands use."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for folder in ("bin", "tmp", "etc"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        tar.add("/bin/busybox", arcname="bin/busybox")
        for applet in BUSYBOX_APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
    return buffer.getvalue()


def import_image(engine: Dockerd) -> None:
    repo, tag = IMAGE.split(":")
    engine.api(
        "POST",
        f"/images/create?fromSrc=-&repo={repo}&tag={tag}",
        body=busybox_rootfs(),
        headers={"Content-Type": "application/x-tar"},
    )


def reset_project(engine: Dockerd, workdir: Path) -> None:
    """One running container per service, as `docker-compose up -d` leaves them."""
    engine.compose("up", "-d", "--scale", "worker=1", "--scale", "newsletter-app=1", workdir=workdir)
    for service in ("newsletter-app", "worker"):
        _wait(
            lambda service=service: [c["State"] for c in engine.containers(service)] == ["running"],
            f"{service} was not running",
            60,
        )
