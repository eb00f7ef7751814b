"""Importing each seed runbook gives exactly the reviewed output in tests/fixtures/runbooks/golden/.

After an intended change to the importer, regenerate with UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.guides import output
from bot.guides.coverage import coverage_markdown
from bot.guides.model import Guide
from bot.settings import PROJECT_ROOT
from tests.guides.helpers import RUNBOOKS, SEEDS, seed

GOLDEN = RUNBOOKS / "golden"
COVERAGE = PROJECT_ROOT / "docs" / "import-coverage.md"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("file", sorted(SEEDS))
def test_seed_runbook_imports_to_its_golden_files(file: str, tmp_path: Path) -> None:
    result = seed(file)
    output.write(result, tmp_path, None)
    golden = GOLDEN / SEEDS[file]
    if UPDATE:
        for path in golden.rglob("*") if golden.exists() else []:
            if path.is_file():
                path.unlink()
        output.write(result, golden, None)
    assert _files(tmp_path) == _files(golden)


@pytest.mark.parametrize("file", sorted(SEEDS))
def test_golden_guide_is_a_valid_guide_file(file: str) -> None:
    import yaml

    path = GOLDEN / SEEDS[file] / "runbooks" / f"{SEEDS[file]}.yml"
    guide = Guide.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert guide.name == SEEDS[file]
    assert guide.sections


def test_import_is_stable_across_runs() -> None:
    file = "000_4ceb288fd9bd6c47.txt"
    assert output.guide_yaml(seed(file)) == output.guide_yaml(seed(file))


def test_coverage_report_in_docs_is_up_to_date() -> None:
    text = coverage_markdown([seed(file) for file in sorted(SEEDS)])
    if UPDATE:
        COVERAGE.parent.mkdir(exist_ok=True)
        COVERAGE.write_text(text, encoding="utf-8")
    assert COVERAGE.read_text(encoding="utf-8") == text
