"""Where the sandbox package is absent (an installed wheel, the image), `runbook-bot shell` says what to do."""

from __future__ import annotations

import sys

import pytest

from tests.cli_runs import run_cli


def test_shell_without_the_sandbox_package_exits_2_with_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A None entry in sys.modules makes `import sandbox` fail as it does where the package is not installed.
    monkeypatch.setitem(sys.modules, "sandbox", None)
    done = run_cli(["shell"], {}, monkeypatch=monkeypatch)
    assert done.returncode == 2
    assert "the shell needs the sandbox package" in done.stderr
    assert "scripts/shell.sh" in done.stderr
    assert "Traceback" not in done.stderr
