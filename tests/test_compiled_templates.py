"""Compiled templates are kept per process (every bot a test run starts would compile the same files):
an edited file is compiled again for the next bot, and a running bot keeps what it checked at start."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.catalog import Catalog
from bot.comms import samples
from bot.settings import PROJECT_ROOT
from bot.templating import Templates

TEMPLATES = PROJECT_ROOT / "templates"
EDITED = "text: edited\nblocks:\n  - {type: section, text: {type: mrkdwn, text: edited}}\n"


def test_a_template_edited_after_a_bot_compiled_it_is_compiled_again_for_the_next_bot(
    catalog: Catalog, tmp_path: Path
) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    context = samples.sample_contexts(catalog)["incident_update"]()
    running = Templates(folder)
    shipped = running.render("incident_update", context).text
    assert Templates(folder).render("incident_update", context).text == shipped  # the same file, compiled once

    (folder / "incident_update.yml.j2").write_text(EDITED, encoding="utf-8")

    assert Templates(folder).render("incident_update", context).text == "edited"
    assert running.render("incident_update", context).text == shipped
    assert Templates(TEMPLATES).render("incident_update", context).text == shipped  # another folder's file
