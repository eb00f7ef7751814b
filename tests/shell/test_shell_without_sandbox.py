"""Where the sandbox package is absent (an installed wheel, the image), `runbook-bot shell` says what to do."""

from __future__ import annotations

import subprocess
import sys

from bot.settings import PROJECT_ROOT

# A None entry in sys.modules makes `import sandbox` fail as it does where the package is not installed.
WITHOUT_SANDBOX = "import sys; sys.modules['sandbox'] = None; from bot.cli import main; sys.exit(main(['shell']))"


def test_shell_without_the_sandbox_package_exits_2_with_how_to_get_it() -> None:
    done = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
        [sys.executable, "-c", WITHOUT_SANDBOX],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "the shell needs the sandbox package" in done.stderr
    assert "scripts/shell.sh" in done.stderr
    assert "Traceback" not in done.stderr
