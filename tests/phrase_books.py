"""A team's own phrase book in a test: the packaged templates copied, some phrases reworded."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT
from bot.templating import PHRASES, Templates


def reworded(tmp_path: Path, **phrases: str) -> Templates:
    """The packaged templates under tmp_path/templates, with `phrases` in place of the book's."""
    folder = tmp_path / "templates"
    shutil.copytree(PROJECT_ROOT / "templates", folder)
    book = yaml.safe_load((folder / PHRASES).read_text(encoding="utf-8"))
    book.update(phrases)
    (folder / PHRASES).write_text(yaml.safe_dump(book, allow_unicode=True), encoding="utf-8")
    return Templates(folder)
