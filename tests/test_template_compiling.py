"""Templates and phrases are compiled once per process and shared by every bot it builds; an edited file
or a team's reworded phrase is never served from what was compiled before."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot import errors
from bot.settings import PROJECT_ROOT
from bot.templating import PHRASES, Templates

BUSY = "reply_busy.yml.j2"


def copied_templates(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(PROJECT_ROOT / "templates", tmp_path / name))


def test_a_template_edited_between_two_bots_renders_the_edit(tmp_path: Path) -> None:
    folder = copied_templates(tmp_path, "templates")
    assert "I'm busy" in Templates(folder).render("reply_busy", {}).text
    busy = folder / BUSY
    busy.write_text(busy.read_text(encoding="utf-8").replace("I'm busy", "Too much going on"), encoding="utf-8")
    assert "Too much going on" in Templates(folder).render("reply_busy", {}).text


def test_two_books_in_one_process_each_say_their_own_words(tmp_path: Path) -> None:
    shipped, reworded = copied_templates(tmp_path, "shipped"), copied_templates(tmp_path, "reworded")
    book = reworded / PHRASES
    book.write_text(
        book.read_text(encoding="utf-8").replace("Which procedure? Try", "Name a procedure; see"), encoding="utf-8"
    )
    said = errors.Said("which_procedure", help=errors.Code("/runbook help"))
    assert Templates(shipped).plain(said) == "Which procedure? Try `/runbook help`."
    assert Templates(reworded).plain(said) == "Name a procedure; see `/runbook help`."
    assert Templates(shipped).plain(said) == "Which procedure? Try `/runbook help`."
