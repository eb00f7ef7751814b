"""The Docker host an outage names is a phrase of the book with the host's name and address as data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from bot import errors
from bot.docker.engine import Engine
from bot.settings import PROJECT_ROOT
from bot.slack.reply_views import ReplyViews
from bot.templating import PHRASES, PINGS, Templates, check_templates

TEMPLATES = PROJECT_ROOT / "templates"


def test_an_unreachable_docker_host_is_named_in_the_books_words(tmp_path: Path) -> None:
    down = errors.UnavailableError(Engine("<!channel>", "unix:///run/docker.sock", timeout=5.0).dependency, "refused")
    assert down.dependency == "Docker host <!channel> (unix:///run/docker.sock)"  # logs: as before

    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    book = yaml.safe_load((folder / PHRASES).read_text(encoding="utf-8"))
    book["docker_host"] = "the engine {{ host }} at {{ url }}"
    (folder / PHRASES).write_text(yaml.safe_dump(book, allow_unicode=True), encoding="utf-8")
    assert check_templates(folder, {}) == []
    text, blocks = ReplyViews(Templates(folder)).unavailable(down, changes=True)

    shown = text + json.dumps(blocks)
    assert "the engine &lt;!channel&gt; at unix:///run/docker.sock" in shown
    assert not any(ping in shown for ping in PINGS)
