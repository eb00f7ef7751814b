"""The product ships without its development fakes: neither the wheel nor the image contains sandbox/."""

from __future__ import annotations

import tomllib

import setuptools

from bot.settings import PROJECT_ROOT


def test_wheel_packages_are_the_bot_without_the_sandbox() -> None:
    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    find = config["tool"]["setuptools"]["packages"]["find"]
    packages = setuptools.find_packages(where=str(PROJECT_ROOT), include=find["include"])
    assert {"bot", "bot.slack", "bot.runbooks", "bot.store"} <= set(packages)
    assert [p for p in packages if "sandbox" in p.split(".")] == []


def test_image_copies_no_sandbox_into_the_app() -> None:
    copies = [
        line.split()[1:-1]
        for line in (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
        if line.startswith("COPY ")
    ]
    sources = [source for sources in copies for source in sources]
    assert "bot" in sources
    assert "." not in sources  # copying the whole context would bring sandbox/ along
    assert [s for s in sources if "sandbox" in s] == []
