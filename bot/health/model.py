"""What a health check returns: frozen dataclasses, no Slack or library types."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from bot import errors


class State(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    UNKNOWN = "unknown"


# A service's line shows its worst check. "unknown" ranks above "warn": not being able to
# see a target at all is more urgent than a figure that is merely high.
SEVERITY = {State.OK: 0, State.WARN: 1, State.UNKNOWN: 2, State.FAIL: 3}


def worst(states: list[State]) -> State:
    return max(states, key=SEVERITY.__getitem__, default=State.OK)


@dataclass(frozen=True)
class Suggestion:
    """A procedure that may fix a failing check, with its argument text (`backend 4`)."""

    procedure: str
    args: str


PROMETHEUS = "prometheus"  # the kind of a Prometheus check; its name in the catalog is the result's `metric`


@dataclass(frozen=True)
class CheckResult:
    service: str
    check: str  # what was checked: "kubernetes", "http", "prometheus", "postgres", "redis"
    state: State
    # The deciding figures, said by a phrase of the book (`health_http`: status 503, 120 ms), so a team
    # rewords them in templates/phrases.yml; an unknown check says why.
    value: errors.Said
    suggestion: Suggestion | None = None
    data: dict[str, Any] = field(default_factory=dict)
    metric: str = ""  # a Prometheus check's name in the catalog (`error rate`)


@dataclass(frozen=True)
class ServiceHealth:
    service: str
    checks: tuple[CheckResult, ...]

    @property
    def state(self) -> State:
        return worst([c.state for c in self.checks])

    @property
    def deciding(self) -> CheckResult | None:
        """The check whose state is the service's (the first of the worst)."""
        state = self.state
        return next((c for c in self.checks if c.state == state), None)


@dataclass(frozen=True)
class Report:
    services: tuple[ServiceHealth, ...]
    elapsed_seconds: float

    @property
    def state(self) -> State:
        return worst([s.state for s in self.services])

    def count(self, state: State) -> int:
        return sum(1 for s in self.services if s.state == state)

    def suggestions(self) -> list[tuple[str, Suggestion]]:
        """(check label, suggestion) for every failing check, without duplicates, in service order."""
        seen: set[Suggestion] = set()
        found: list[tuple[str, Suggestion]] = []
        for svc in self.services:
            for c in svc.checks:
                if c.state == State.FAIL and c.suggestion is not None and c.suggestion not in seen:
                    seen.add(c.suggestion)
                    found.append((f"{svc.service} {c.check} {c.metric}".rstrip(), c.suggestion))
        return found
