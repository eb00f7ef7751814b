"""The repository stands alone: nothing in it reads or names a path outside it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from bot.settings import PROJECT_ROOT

# Spelled in pieces so this file does not name what it looks for.
OUTSIDE = ("../" + "shared", "/work" + "/")


def _project_files(directory: Path) -> Iterator[Path]:
    for path in directory.iterdir():
        if path.name.startswith(".") or path.name in {"__pycache__", "build", "dist"}:
            continue  # .git, .venv, tool caches: not the project's own text
        if path.is_dir():
            yield from _project_files(path)
        elif path.is_file():
            yield path


def test_no_project_file_names_a_path_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}: {needle}"
        for path in _project_files(PROJECT_ROOT)
        for needle in OUTSIDE
        if needle in path.read_bytes().decode("utf-8", errors="ignore")
    ]
    assert offenders == []
