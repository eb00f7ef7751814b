"""Shared by the importer tests: the seed runbooks, the built-in procedures, one import call."""

from __future__ import annotations

from bot.catalog import Catalog
from bot.guides.cli import known_procedures
from bot.guides.importer import ImportResult, import_runbook
from bot.settings import PROJECT_ROOT

RUNBOOKS = PROJECT_ROOT / "tests" / "fixtures" / "runbooks"
STYLES = PROJECT_ROOT / "tests" / "fixtures" / "runbook_styles"
PROCEDURES = known_procedures(PROJECT_ROOT / "commands")
# The five seed runbooks (tests/fixtures/runbooks, copied from the project's shared runbooks) and the
# name each guide gets.
SEEDS = {
    "000_4ceb288fd9bd6c47.txt": "email-dashboard",
    "001_5f537cd5f3c60730.txt": "mail-score",
    "002_dcd9a5b76c548bb3.txt": "newsletter",
    "003_476777abec2f304d.txt": "helpdesk",
    "004_264deb7c06170a7f.txt": "email-triage",
}


def imported(text: str, *, catalog: Catalog | None = None, name: str | None = None) -> ImportResult:
    return import_runbook(text, source="runbook.md", procedures=PROCEDURES, catalog=catalog, name=name)


def seed(file: str, catalog: Catalog | None = None) -> ImportResult:
    return import_runbook(
        (RUNBOOKS / file).read_text(encoding="utf-8"),
        source=file,
        procedures=PROCEDURES,
        catalog=catalog,
        name=SEEDS[file],
    )


def all_steps(result: ImportResult) -> list[str]:
    return [step.command_text() for section in result.guide.sections for step in section.steps]
