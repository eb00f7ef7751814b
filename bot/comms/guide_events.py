"""The incident timeline entries a runbook guide writes: stored as data (JSON in the event's text, kind
`guide`) and worded only when shown (templates/incident_timeline.yml.j2), so rewording a template
rewords past entries too. Entries written before this were worded text; they are shown as they are."""

from __future__ import annotations

import json
from dataclasses import dataclass

KIND = "guide"


@dataclass(frozen=True)
class Opened:
    """Someone opened a guide's section for the incident."""

    guide: str
    section: str


@dataclass(frozen=True)
class Step:
    """Someone ran a guide's step (`command`, as typed after /runbook) for the incident."""

    command: str


def opened(guide: str, section: str) -> str:
    return json.dumps({"opened": {"guide": guide, "section": section}}, ensure_ascii=False)


def step(command: str) -> str:
    return json.dumps({"step": command}, ensure_ascii=False)


def read(text: str) -> Opened | Step | None:
    """The entry's data; None for text that is not (an entry from before, written as words)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    found = data.get("opened")
    if isinstance(found, dict) and isinstance(found.get("guide"), str) and isinstance(found.get("section"), str):
        return Opened(found["guide"], found["section"])
    if isinstance(data.get("step"), str):
        return Step(data["step"])
    return None
