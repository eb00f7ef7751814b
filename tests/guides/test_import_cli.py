"""`runbook-bot import` on the command line: files written, the report printed, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import cli
from tests.guides.helpers import RUNBOOKS, STYLES


def test_import_writes_the_guide_the_proposals_and_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(
        ["import", str(RUNBOOKS / "002_dcd9a5b76c548bb3.txt"), "--out", str(tmp_path), "--name", "newsletter"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("newsletter: 32 / 78 command lines mapped")
    assert "not imported, line 241: echo $R2_ACCESS_KEY_ID — prints a variable, which may hold a secret" in out
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["catalog-proposal.yml", "commands/ps.yml", "import-report.md", "runbooks/newsletter.yml"]
    assert "**32 / 78 command lines mapped**" in (tmp_path / "import-report.md").read_text(encoding="utf-8")


def test_import_names_the_guide_from_the_title_by_default(tmp_path: Path) -> None:
    assert cli.main(["import", str(STYLES / "numbered_setext.md"), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "runbooks" / "checkout.yml").is_file()


def test_a_missing_runbook_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["import", str(tmp_path / "nope.md"), "--out", str(tmp_path)]) == 2
    assert "nope.md: cannot read" in capsys.readouterr().err
    assert not (tmp_path / "runbooks").exists()
