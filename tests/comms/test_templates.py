"""Issue 5: every template renders valid Block Kit; check_templates names a broken one."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from bot.app import template_samples
from bot.catalog import Catalog
from bot.comms import contexts, samples
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


def test_a_duration_is_data_and_the_templates_word_it(catalog: Catalog, tmp_path: Path) -> None:
    span = timedelta(days=1, hours=2, minutes=3)
    assert contexts.duration(span) == {"days": 1, "hours": 2, "minutes": 3}
    resolved = replace(samples.sample_incident(catalog), title="Slow", resolved_at=None)
    for took, said in ((span, "1d 2h 3m"), (timedelta(hours=2), "2h"), (timedelta(seconds=20), "0m")):
        context = contexts.incident_resolved(
            replace(resolved, resolved_at=resolved.declared_at + took), catalog, resolved_by="U0A"
        )
        assert Templates(TEMPLATES).render("incident_resolved", context).text.endswith(f"(duration {said})")
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    macros = folder / "comms_macros.j2"
    macros.write_text(macros.read_text().replace("}}d{%", "}} days{%"))
    context = contexts.incident_resolved(
        replace(resolved, resolved_at=resolved.declared_at + span), catalog, resolved_by="U0A"
    )
    assert Templates(folder).render("incident_resolved", context).text.endswith("(duration 1 days 2h 3m)")


def test_the_services_customers_read_are_a_list_the_public_template_words() -> None:
    templates = Templates(TEMPLATES)
    words = {
        "plural": True,
        "component_status": "major_outage",
        "status": "investigating",
        "impact": "major",
    }
    for names, said in ((["Mail"], "Mail"), (["Mail", "Web"], "Mail and Web"), (["A", "B", "C"], "A, B and C")):
        assert (
            templates.render_public("public_incident", {**words, "services": names})["name"] == f"An outage of {said}"
        )
