"""`runbook-bot import` on the command line: files written, the report printed, clear refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot import errors
from bot.guides import cli as guides_cli
from bot.settings import PROJECT_ROOT
from tests.guides.helpers import RUNBOOKS, STYLES

COMMANDS, CATALOG = PROJECT_ROOT / "commands", PROJECT_ROOT / "chatops.yml"


def test_runbook_bot_import_writes_the_guide_the_proposals_and_the_report(tmp_path: Path) -> None:
    runbook = str(RUNBOOKS / "002_dcd9a5b76c548bb3.txt")
    done = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
        [sys.executable, "-m", "bot.cli", "import", runbook, "--out", str(tmp_path), "--name", "newsletter"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("newsletter: 32 / 78 command lines mapped")
    assert "not imported, line 241: echo $R2_ACCESS_KEY_ID — prints a variable, which may hold a secret" in done.stdout
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["catalog-proposal.yml", "commands/ps.yml", "import-report.md", "runbooks/newsletter.yml"]
    assert "**32 / 78 command lines mapped**" in (tmp_path / "import-report.md").read_text(encoding="utf-8")


def test_import_names_the_guide_from_the_title_by_default(tmp_path: Path) -> None:
    code = guides_cli.run(STYLES / "numbered_setext.md", tmp_path, None, commands_dir=COMMANDS, catalog_path=CATALOG)
    assert code == 0
    assert (tmp_path / "runbooks" / "checkout.yml").is_file()


def test_a_missing_runbook_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigError, match=r"nope\.md: cannot read"):
        guides_cli.run(tmp_path / "nope.md", tmp_path, None, commands_dir=COMMANDS, catalog_path=CATALOG)
    assert not (tmp_path / "runbooks").exists()
