"""Durations reach the runbook templates as numbers, and a missing error as nothing: the templates
format and word them, so a team changes either without touching Python."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

from bot.runbooks.executions import State, StepRecord
from bot.runbooks.model import Procedure
from bot.settings import PROJECT_ROOT
from bot.slack.runbook_views import RunbookViews
from bot.templating import Templates, check_templates
from tests.slack.executions import AT, execution

TEMPLATES = PROJECT_ROOT / "templates"
PROCEDURE = Procedure.model_validate(
    {"name": "scale", "summary": "s", "roles": ["operator"], "steps": [{"action": "x"}]}
)
STEPS = (StepRecord(0, "kubernetes.scale", True, "Scaled backend from 3 to 5", 1.25),)


def _shown(templates: Templates, state: State, error: str | None = None) -> str:
    ran = execution(state, started_at=AT, finished_at=AT + timedelta(seconds=12.34), error=error)
    text, blocks = RunbookViews(templates).progress(ran, PROCEDURE, STEPS, None, None)
    return text + json.dumps(blocks, ensure_ascii=False)


def test_a_runs_durations_and_a_missing_error_read_as_before() -> None:
    done = _shown(Templates(TEMPLATES), State.SUCCEEDED)
    assert "Done in 12.3s." in done and "(1.2s)" in done
    failed = _shown(Templates(TEMPLATES), State.FAILED)
    assert "Failed in 12.3s: unknown error." in failed


def test_a_team_formats_durations_and_words_a_missing_error_in_its_templates(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    macros = folder / "runbook_macros.j2"
    source = macros.read_text(encoding="utf-8")
    source = source.replace('"%.1f" | format(x.took | float) }}s', '"%d" | format(x.took | float) }} seconds')
    source = source.replace('x.error or "unknown error"', 'x.error or "no reason recorded"')
    macros.write_text(source, encoding="utf-8")
    assert check_templates(folder, {}) == []

    shown = _shown(Templates(folder), State.FAILED)

    assert "Failed in 12 seconds: no reason recorded." in shown
