"""`runbook-bot COMMAND` in the test's process: bot.cli.main with the environment a subprocess would get,
its output captured. Spares the interpreter start-up and imports (about 2.5 s of CPU) of a subprocess;
each command keeps one test that runs it as a real subprocess, for the entry point."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pytest

from bot import cli, logs
from tests.conftest import SIGNING_SECRET


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run_cli(argv: Sequence[str], env: Mapping[str, str], *, monkeypatch: pytest.MonkeyPatch) -> Ran:
    """main(argv) with `env` added to os.environ (undone at teardown) and its output captured. main()
    configures the process's logs, onto the captured stderr: afterwards they are configured again as the
    suite's in-process bots log (tests/conftest.py:_product_logging), onto the stderr pytest captures for
    every test, so no later test logs into this one's buffer."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    suite_stderr = sys.stderr
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(list(argv))
    finally:
        logs.configure(level="INFO", fmt="console", secrets=[SIGNING_SECRET], stream=suite_stderr)
    return Ran(code, out.getvalue(), err.getvalue())


def check_config_process(env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """`runbook-bot check-config` as a real subprocess: the entry point itself, or a next process reading
    what an earlier one kept (the other check-config tests run main() in-process)."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "check-config"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
