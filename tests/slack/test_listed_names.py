"""Names a message lists (a procedure's roles and channels) reach the template as a list, which joins
them: a team changes how in its template, and a hostile name never pings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bot.runbooks.model import Procedure
from bot.settings import PROJECT_ROOT
from bot.slack.runbook_views import RunbookViews
from bot.templating import PINGS, Templates, check_templates

TEMPLATES = PROJECT_ROOT / "templates"
PROCEDURE = Procedure.model_validate(
    {
        "name": "scale",
        "summary": "Scale a service",
        "roles": ["operator", "<!channel>"],
        "channels": ["C0OPS", "C0INCIDENTS"],
        "steps": [{"action": "x"}],
    }
)


def test_help_lists_a_procedures_roles_and_channels_joined_by_the_template() -> None:
    shown = json.dumps(RunbookViews(Templates(TEMPLATES)).help_procedure(PROCEDURE))

    assert "Roles: operator, &lt;!channel&gt; \\u00b7 Channels: C0OPS, C0INCIDENTS" in shown
    assert not any(ping in shown for ping in PINGS)


def test_a_team_joins_the_roles_its_own_way(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    template = folder / "runbook_help_procedure.yml.j2"
    source = template.read_text(encoding="utf-8")
    template.write_text(source.replace('roles | join(", ")', 'roles | join(" or ")'), encoding="utf-8")
    assert check_templates(folder, {}) == []

    shown = json.dumps(RunbookViews(Templates(folder)).help_procedure(PROCEDURE))

    assert "Roles: operator or &lt;!channel&gt;" in shown
