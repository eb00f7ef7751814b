"""The incident timeline entry an escalation writes (kind `escalation`): stored as data (JSON in the
event's text) and worded only when shown (templates/incident_timeline.yml.j2), like a guide's entries.
Entries written before this were worded text; they are shown as they are."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

KIND = "escalation"


@dataclass(frozen=True)
class Escalated:
    """The bot asked the lead to escalate to `level`, whose contacts are these (from the catalog)."""

    level: str
    contacts: tuple[str, ...]


def encode(level: str, contacts: Sequence[str]) -> str:
    return json.dumps({"escalated": {"level": level, "contacts": list(contacts)}}, ensure_ascii=False)


def read(text: str) -> Escalated | None:
    """The entry's data; None for text that is not (an entry from before, written as words)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    found = data.get("escalated") if isinstance(data, dict) else None
    if not isinstance(found, dict) or not isinstance(found.get("level"), str):
        return None
    contacts = found.get("contacts")
    if not isinstance(contacts, list) or not all(isinstance(c, str) for c in contacts):
        return None
    return Escalated(found["level"], tuple(contacts))
