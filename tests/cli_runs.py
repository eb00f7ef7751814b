"""`runbook-bot COMMAND` in the test's process: bot.cli.main with the environment a subprocess would get,
its output captured. Spares the interpreter start-up and imports (about 2.5 s of CPU) of a subprocess;
each command keeps one test that runs it as a real subprocess, for the entry point."""

from __future__ import annotations

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


def run_cli(
    argv: Sequence[str], env: Mapping[str, str], *, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Ran:
    """main(argv) with `env` added to os.environ (undone at teardown). main() configures the process's
    logs, to the captured stderr: they are configured again as the suite's in-process bots log
    (tests/conftest.py:_product_logging), so no later test logs into this test's capture."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()  # what the test printed before is not the command's
    try:
        code = cli.main(list(argv))
    finally:
        logs.configure(level="INFO", fmt="console", secrets=[SIGNING_SECRET])
    out = capsys.readouterr()
    return Ran(code, out.out, out.err)
