"""`runbook-bot serve` as real subprocesses (to SIGKILL them, and to run two replicas)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from sandbox.cluster import SandboxCluster
from sandbox.slack_fake import SlackFake
from tests.conftest import bot_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServeProcess:
    def __init__(self, env: dict[str, str], log_path: Path, command: str = "serve", args: tuple[str, ...] = ()) -> None:
        self.args = args  # after the command, e.g. ("--workers", "2")
        self.port = free_port()
        self.env = {**os.environ, **env, "PORT": str(self.port), "HOST": "127.0.0.1", "LOG_FORMAT": "json"}
        self._log_path = log_path
        self._command = command  # serve | socket
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def start(self, *, within: float = 60.0) -> None:
        log = self._log_path.open("ab")
        # Popen returns at once (it does not wait for the child), so it does not block the loop.
        self.process = subprocess.Popen(  # noqa: ASYNC220, S603 - our own CLI, `serve` or `socket`
            [sys.executable, "-m", "bot.cli", self._command, *self.args], env=self.env, stdout=log, stderr=log
        )
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            deadline = asyncio.get_running_loop().time() + within
            while asyncio.get_running_loop().time() < deadline:
                assert self.process.poll() is None, self._log_path.read_text()[-3000:]
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"serve not ready: {self._log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self._log_path.read_text(errors="replace")


ServeFactory = Callable[..., ServeProcess]


@pytest.fixture
async def serve_processes(
    slack: SlackFake, cluster: SandboxCluster, database_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[ServeFactory]:
    env = {
        **bot_env(slack=slack, cluster=cluster, database_url=database_url, redis_url=redis_url, tmp_path=tmp_path),
        "EXECUTION_HEARTBEAT_SECONDS": "0.5",
        "EXECUTION_STALE_SECONDS": "2",
        "SWEEP_SECONDS": "1",
        "SHUTDOWN_GRACE_SECONDS": "1",
        "SLACK_APP_TOKEN": slack.config.app_token,  # used by `socket` only
    }
    started: list[ServeProcess] = []

    def factory(command: str = "serve", *args: str) -> ServeProcess:
        process = ServeProcess(env, tmp_path / f"{command}-{len(started)}.log", command, args)
        started.append(process)
        return process

    yield factory
    for process in started:
        process.terminate()
