"""Issue 5: every template renders valid Block Kit; check_templates names a broken one."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.app import template_samples
from bot.catalog import Catalog
from bot.comms import samples
from bot.settings import PROJECT_ROOT
from bot.templating import Templates, check_templates
from sandbox import blockkit

TEMPLATES = PROJECT_ROOT / "templates"


def test_every_shipped_template_renders_valid_block_kit_with_hostile_values(catalog: Catalog) -> None:
    assert check_templates(TEMPLATES, template_samples(catalog)) == []
    templates = Templates(TEMPLATES)
    for name, make in samples.sample_contexts(catalog).items():
        rendered = templates.render(name, make())
        assert blockkit.validate_message_blocks(rendered.blocks) == [], name
        assert "<!channel>" not in rendered.text, name


def test_check_templates_reports_each_broken_template_by_file(catalog: Catalog, tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    (folder / "incident_update.yml.j2").write_text("text: {{ no_such_value | q }}\nblocks: []\n")
    (folder / "incident_resolved.yml.j2").write_text("text: {{ id | q }}\nblocks:\n  - type: section\n")
    (folder / "maintenance_started.yml.j2").write_text("text: {% if %}\n")
    (folder / "maintenance_cancelled.yml.j2").unlink()
    problems = check_templates(folder, template_samples(catalog))
    joined = "\n".join(problems)
    assert len(problems) == 4, joined
    assert "incident_update.yml.j2" in joined and "no_such_value" in joined
    assert "incident_resolved.yml.j2" in joined
    assert "maintenance_started.yml.j2" in joined
    assert "maintenance_cancelled.yml.j2: missing" in joined


def test_a_template_that_passes_raw_markup_is_reported(catalog: Catalog, tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    (folder / "incident_update.yml.j2").write_text(
        "text: {{ 'ping <!channel>' | q }}\nblocks:\n  - {type: section, text: {type: mrkdwn, text: hi}}\n"
    )
    assert any("would ping" in p for p in check_templates(folder, template_samples(catalog)))
