"""Guide messages are valid Block Kit within Slack's limits, whatever the guide holds, and never ping."""

from __future__ import annotations

import json

from bot.guides.model import Escalation, Guide, GuideStep, Section
from bot.settings import PROJECT_ROOT
from bot.slack import guides as views
from bot.templating import Templates
from sandbox.blockkit import validate_message_blocks
from tests.guides.helpers import PROCEDURES

TEMPLATES = Templates(PROJECT_ROOT / "templates")
HOSTILE = "<!channel> <@U0BOB> & <https://evil.example|click>"


def _loaded() -> list[Guide]:
    import yaml

    return [
        Guide.model_validate(yaml.safe_load(p.read_text(encoding="utf-8")))
        for p in sorted((PROJECT_ROOT / "runbooks").glob("*.yml"))
    ]


def test_every_section_of_the_shipped_guides_renders_valid_block_kit() -> None:
    for guide in _loaded():
        assert validate_message_blocks(views.sections_menu(TEMPLATES, guide)[1]) == []
        for index in range(len(guide.sections)):
            _, blocks = views.section_message(TEMPLATES, PROCEDURES, guide, index, incident_id=3)
            assert validate_message_blocks(blocks) == []
    assert validate_message_blocks(views.guides_menu(TEMPLATES, _loaded())[1]) == []


def test_a_huge_hostile_guide_stays_within_limits_and_escaped() -> None:
    steps = [
        GuideStep(title=HOSTILE + " " + "x" * 140, phase=phase, procedure="restart", args="backend")
        for phase in ("immediate", "diagnosis", "resolution")
        for _ in range(30)
    ] + [GuideStep(title="choose", phase="resolution", procedure="restart", args="{service}")]
    section = Section(
        title=HOSTILE,
        symptoms=[HOSTILE] * 40,
        steps=steps,
        escalation=Escalation(text=HOSTILE, after_minutes=15),
    )
    guide = Guide(
        name="hostile",
        title=HOSTILE,
        contacts=[HOSTILE] * 10,
        sections=[section] + [Section(title=f"{HOSTILE} {n}", symptoms=[HOSTILE]) for n in range(70)],
    )
    _, blocks = views.section_message(TEMPLATES, PROCEDURES, guide, 0)
    rendered = json.dumps(blocks)
    assert validate_message_blocks(blocks) == []
    for block in blocks:
        for part in (block.get("text") or {}, *(block.get("elements") or [])):
            if isinstance(part, dict) and part.get("type") == "mrkdwn":
                assert "<!channel>" not in part["text"] and "<@U0BOB>" not in part["text"]
    assert "more steps" in rendered
    action_ids = [b["accessory"]["action_id"] for b in blocks if "accessory" in b]
    assert len(action_ids) == len(set(action_ids)), "action ids are unique within a message"
    assert validate_message_blocks(views.sections_menu(TEMPLATES, guide)[1]) == []
    assert validate_message_blocks(views.guides_menu(TEMPLATES, [guide] * 60)[1]) == []
