"""docs/guides.md describes every field of the guide models, and only those."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel

from bot.guides.model import Escalation, Guide, GuideStep, Section
from bot.settings import PROJECT_ROOT

DOC = (PROJECT_ROOT / "docs" / "guides.md").read_text(encoding="utf-8")


def _documented(heading: str) -> set[str]:
    part = DOC.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", part, re.M))


@pytest.mark.parametrize(
    ("heading", "model"), [("Guide", Guide), ("Section", Section), ("Step", GuideStep), ("Escalation", Escalation)]
)
def test_every_field_is_documented(heading: str, model: type[BaseModel]) -> None:
    assert _documented(heading) == set(model.model_fields)
