"""Guides as data: the pydantic model of one `runbooks/*.yml` file, written by `runbook-bot import`.

A guide is a runbook's shape in chat: sections (an issue or a procedure each) with their symptoms,
the steps in order (each a procedure of `commands/` with its argument text), and whom to escalate to
after how long. Steps only ever name procedures, so a guide grants nothing a typed command would not.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

GUIDE_NAME = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
# `{service}` in a step's args: a value the on-call chooses when the runbook named none.
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]{0,40})\}")

Phase = Literal["immediate", "diagnosis", "resolution"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GuideStep(_Model):
    """One command of the runbook, as the procedure that does it."""

    title: str = Field(min_length=1, max_length=200)
    phase: Phase
    procedure: str = Field(pattern=r"^[a-z][a-z0-9-]{0,40}$")
    args: str = Field(default="", max_length=500)  # the text after the procedure name; may hold {placeholders}
    source: str = Field(default="", max_length=2000)  # the runbook's line, for the reviewer
    note: str = Field(default="", max_length=500)

    @property
    def placeholders(self) -> list[str]:
        return PLACEHOLDER.findall(self.args)

    def command_text(self) -> str:
        return f"{self.procedure} {self.args}".strip()


class Escalation(_Model):
    text: str = Field(default="", max_length=1000)
    after_minutes: int | None = Field(default=None, gt=0, le=24 * 60)
    contacts: list[str] = []


class Section(_Model):
    title: str = Field(min_length=1, max_length=150)
    symptoms: list[str] = []
    steps: list[GuideStep] = []
    escalation: Escalation | None = None

    def phase_steps(self, phase: Phase) -> list[GuideStep]:
        return [s for s in self.steps if s.phase == phase]


class Guide(_Model):
    name: str = Field(pattern=GUIDE_NAME)
    title: str = Field(min_length=1, max_length=150)
    source: str = ""  # the runbook file it was imported from
    contacts: list[str] = []  # the runbook's emergency contacts, offered where a section names none
    sections: list[Section] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct_sections(self) -> Guide:
        titles = [s.title.casefold() for s in self.sections]
        repeated = sorted({t for t in titles if titles.count(t) > 1})
        if repeated:
            raise ValueError(f"section titles repeat: {repeated}; make each one distinct")
        return self

    def find_section(self, words: str) -> Section | None:
        """The section whose title is, starts with or contains `words` (case-insensitive), in that order."""
        wanted = words.casefold().strip()
        if not wanted:
            return None
        for test in (
            lambda t: t == wanted,
            lambda t: t.startswith(wanted),
            lambda t: wanted in t,
        ):
            found = [s for s in self.sections if test(s.title.casefold())]
            if found:
                return found[0]
        return None
