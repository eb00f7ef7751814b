"""What the `/runbook guide` templates receive. Guides are imported from Markdown a person wrote, so
every title, symptom, step and contact is escaped here; a step's button carries only its place in
the guide (`{"g": name, "s": section, "i": step}`), and its action_id comes from bot.ids."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.comms.contexts import mention, safe
from bot.guides.model import Guide, GuideStep, Section
from bot.ids import ActionId, numbered_action_id
from bot.runbooks.model import Procedure

MENU_ROWS = 45  # with the header and the hint, inside Slack's 50 blocks
MAX_STEPS_SHOWN = 35  # with the header, symptoms and escalation, well inside Slack's 50 blocks
PHASES = ("immediate", "diagnosis", "resolution")
TITLE_LIMIT = 200
TEXT_LIMIT = 400


def value(**fields: Any) -> str:
    return json.dumps(fields, separators=(",", ":"))


def code(text: str, limit: int = 600) -> str:
    """Escaped for inline code: a backtick would close the span."""
    return safe(text, limit).replace("`", "'")


def menu(guides: Sequence[Guide]) -> dict[str, Any]:
    return {
        "guides": [
            {
                "title": safe(g.title, TITLE_LIMIT),
                "name": code(g.name, 80),
                "action_id": numbered_action_id(ActionId.GUIDE_OPEN, n),
                "value": value(g=g.name),
            }
            for n, g in enumerate(guides[:MENU_ROWS])
        ]
    }


def sections(guide: Guide) -> dict[str, Any]:
    return {
        "title": safe(guide.title, TITLE_LIMIT),
        "sections": [
            {
                "title": safe(s.title, TITLE_LIMIT),
                "symptoms": [safe(x, 100) for x in s.symptoms[:4]],
                "action_id": numbered_action_id(ActionId.GUIDE_OPEN, n),
                "value": value(g=guide.name, s=n),
            }
            for n, s in enumerate(guide.sections[:MENU_ROWS])
        ],
    }


def whom(guide: Guide, section: Section) -> list[str]:
    """The section's escalation sentence and contacts, then the runbook's first contacts."""
    escalation = section.escalation
    parts = ([escalation.text] if escalation and escalation.text else []) + (escalation.contacts if escalation else [])
    return [safe(p, TEXT_LIMIT) for p in parts + guide.contacts[:4]]


def _step(
    procedures: Mapping[str, Procedure], guide: Guide, section_index: int, index: int, step: GuideStep, n: int
) -> dict[str, Any]:
    procedure = procedures.get(step.procedure)
    return {
        "title": safe(step.title, TITLE_LIMIT),
        "command": code(f"/runbook {step.command_text()}"),
        # A step that needs a value the runbook did not name is typed, not clicked.
        "placeholders": [code(name, 60) for name in step.placeholders],
        "changes": procedure is not None and procedure.destructive,
        "action_id": numbered_action_id(ActionId.GUIDE_STEP, n),
        "value": value(g=guide.name, s=section_index, i=index),
    }


def section(
    procedures: Mapping[str, Procedure], guide: Guide, section_index: int, incident_id: int | None = None
) -> dict[str, Any]:
    """One section: symptoms, its steps phase by phase (at most MAX_STEPS_SHOWN) and whom to escalate to."""
    s = guide.sections[section_index]
    phases: list[dict[str, Any]] = []
    n = 0
    for phase in PHASES:
        steps = [(i, step) for i, step in enumerate(s.steps) if step.phase == phase]
        if not steps or n == MAX_STEPS_SHOWN:
            continue
        shown = []
        for index, step in steps[: MAX_STEPS_SHOWN - n]:
            shown.append(_step(procedures, guide, section_index, index, step, n))
            n += 1
        phases.append({"phase": phase, "steps": shown})
    escalation = s.escalation
    return {
        "guide": safe(guide.title, TITLE_LIMIT),
        "section": safe(s.title, TITLE_LIMIT),
        "incident_id": incident_id,
        "symptoms": [safe(x, TEXT_LIMIT) for x in s.symptoms[:15]],
        "phases": phases,
        "more_steps": len(s.steps) - n,
        "source": code(guide.source or guide.name, 200),
        "escalate": escalation is not None or bool(guide.contacts),
        "after_minutes": escalation.after_minutes if escalation else None,
        "whom": whom(guide, s),
    }


def started(user_id: str) -> dict[str, Any]:
    return {"user": mention(user_id)}


def reminder(guide: Guide, section_index: int) -> dict[str, Any]:
    s = guide.sections[section_index]
    return {"after_minutes": s.escalation.after_minutes if s.escalation else None, "whom": whom(guide, s)}
