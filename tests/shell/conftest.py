"""What the shell tests share: the servers, and running a script in the test's own process."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest

from bot.settings import load_settings
from sandbox import shell

RunScript = Callable[[Path], Awaitable[tuple[int, str, Any]]]


@pytest.fixture
async def servers(database_url: str, redis_url: str) -> dict[str, str]:
    """The session's PostgreSQL (a fresh database) and Redis, so most shell runs skip starting their own;
    the scale tutorial alone runs on embedded defaults, as the README's first command does."""
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "REDIS_PREFIX": f"shell-{uuid.uuid4().hex[:8]}:"}


class _EnvironUndoneAtTeardown(MutableMapping[str, str]):
    """os.environ, every change made through monkeypatch: the variables the shell sets for its world (the
    services' URLs, the Statuspage token) are gone again when the test ends."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch

    def __getitem__(self, name: str) -> str:
        return os.environ[name]

    def __setitem__(self, name: str, value: str) -> None:
        self._monkeypatch.setenv(name, value)

    def __delitem__(self, name: str) -> None:
        self._monkeypatch.delenv(name)

    def __iter__(self) -> Iterator[str]:
        return iter(os.environ)

    def __len__(self) -> int:
        return len(os.environ)


@pytest.fixture
def run_script(tmp_path: Path, servers: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> RunScript:
    """Run a script as `runbook-bot shell --script FILE` does, but in this test's process and event loop
    (no interpreter start-up and imports per tutorial), with the environment a subprocess would get: its
    own data dir, the report file and the session's servers. Returns (exit code, the conversation, the
    sandbox cluster's and Docker fake's state at exit). tests/shell/test_shell_scripts.py keeps real
    subprocesses for the README's command."""

    async def run(script: Path) -> tuple[int, str, Any]:
        report = tmp_path / "report.json"
        environ = _EnvironUndoneAtTeardown(monkeypatch)
        environ.update(
            {"RUNBOOK_DATA_DIR": str(tmp_path / "data"), shell.REPORT_ENV: str(report), **servers},
        )
        said: list[str] = []
        code = await shell.run(load_settings(), script=str(script), environ=environ, write=said.append)
        data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
        return code, "".join(f"{text}\n" for text in said), data

    return run
