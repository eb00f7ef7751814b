"""Hostile sample data for the /runbook templates (check_templates renders each at start-up and in
`check-config`): every value a user, the catalog or a cluster supplies would ping, link, break YAML,
close a code span or overflow a block if it reached a template unescaped or unclipped."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import errors
from bot.actions.registry import ActionResult, Change, Chart
from bot.catalog import Catalog
from bot.comms.samples import NASTY
from bot.runbooks.engine import PendingOutcome, ReadOnlyOutcome
from bot.runbooks.executions import Execution, State, StepRecord
from bot.runbooks.model import Procedure
from bot.runbooks.policy import EMERGENCY_ARG
from bot.slack import runbook_contexts as contexts
from bot.templating import PINGS

HOSTILE = " ".join(PINGS) + " ``` ` *bold* _it_ " + NASTY  # code fences and backticks too

_AT = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def _procedure(name: str, **fields: Any) -> Procedure:
    """A procedure as a hostile catalog author could write it (names are pattern-checked; text is not)."""
    return Procedure.model_validate(
        {
            "name": name,
            "summary": HOSTILE,
            "roles": ["viewer", "operator"],
            "channels": ["ops", "<!channel>"],
            "params": [
                {"name": "service", "type": "service", "help": HOSTILE},
                {"name": "replicas", "type": "int", "required": False, "help": HOSTILE},
            ],
            "examples": [HOSTILE, "scale backend 5"],
            "steps": [{"action": "kubernetes.scale"}] * 60,  # more steps than a message holds blocks
            **fields,
        }
    )


# Actions' phrases said with hostile fields (a pod name, a quoted key pattern). The book's phrases are
# checked by check_phrases; here, what the surface shows of their fields.
_SAID = errors.Said("k8s_pod", pod=HOSTILE)
_QUOTED = errors.Said("redis_no_key", pattern=errors.Code(HOSTILE))


def _hostile_phrase(said: errors.Said, show: Callable[[errors.Field], str]) -> str:
    """A phrase book whose every phrase is only its fields, each shown by the surface (contexts.said)."""
    return " ".join(show(value) for value in said.fields.values() if isinstance(value, str | errors.Code))


def _result() -> ActionResult:
    return ActionResult(
        _SAID,
        changes=(Change(HOSTILE, HOSTILE, HOSTILE), Change(_SAID, _QUOTED, _SAID), Change(_QUOTED, _SAID, _QUOTED)),
        details=HOSTILE * 3,
    )


def _chart_result() -> ActionResult:
    """A chart of a hostile catalog check (its name is free text) on a hostile service name."""
    return ActionResult(_QUOTED, chart=Chart(HOSTILE, HOSTILE, "6h", 3, 0.0712, "fail", 0.05))


def _execution(state: State, **fields: Any) -> Execution:
    return Execution(
        id=uuid.UUID(int=7),
        procedure="scale",
        args={"service": HOSTILE, "replicas": 5, EMERGENCY_ARG: HOSTILE},
        service=HOSTILE,
        lock_key="deployment/backend",
        requester="U0REQUESTER",
        channel_id="C0OPS",
        approval="two_person",
        state=state,
        created_at=_AT,
        expires_at=_AT + timedelta(minutes=5),
        approver="U0REQUESTER",  # confirmed alone: the break-glass line shows too
        error=HOSTILE,
        started_at=_AT,
        finished_at=_AT + timedelta(seconds=42),
        command=HOSTILE,
        **fields,
    )


def _steps() -> tuple[StepRecord, ...]:
    return tuple(StepRecord(i, HOSTILE, i % 2 == 0, HOSTILE, 1.25, details=HOSTILE) for i in range(40))


def _subcommands() -> list[tuple[str, str]]:
    """Every subcommand a surface adds today, with a hostile usage, and one the template has no words for."""
    return [(name, f"/runbook {name} {HOSTILE}") for name in ("list", "history", "health", "guide", HOSTILE)]


def sample_contexts(catalog: Catalog) -> dict[str, Callable[[], Mapping[str, Any]]]:
    scale = _procedure("scale", destructive=True, approval="two_person")
    status = _procedure("status")
    many = [_procedure(f"p{i:03d}", destructive=i % 2 == 0) for i in range(200)]  # more than 50 sections' worth
    running = _execution(State.RUNNING)
    interrupted = replace(_execution(State.INTERRUPTED), id=uuid.UUID(int=8), command=None, channel_id="<!here>")
    return {
        "runbook_help_overview": lambda: contexts.help_overview(many, _subcommands()),
        "runbook_help_procedure": lambda: contexts.help_procedure(scale),
        "runbook_list": lambda: contexts.allowed_list(many),
        "runbook_result": lambda: contexts.read_only_result(
            _hostile_phrase,
            ReadOnlyOutcome(status, {"service": HOSTILE}, (*(_result() for _ in range(19)), _chart_result()), HOSTILE),
            "<!channel>",
        ),
        "runbook_preview": lambda: contexts.preview(
            _hostile_phrase,
            PendingOutcome(
                scale,
                _execution(State.PENDING),
                tuple(Change(_SAID if i % 2 else HOSTILE, HOSTILE, _SAID) for i in range(30)),
                (_SAID, _QUOTED),
                last_interrupted=interrupted,
            ),
        ),
        "runbook_progress": lambda: contexts.progress(
            _hostile_phrase, running, scale, _steps(), HOSTILE, errors.Said("k8s_rolled_out", deployment=HOSTILE)
        ),
        "runbook_closed": lambda: contexts.closed(_execution(State.FAILED), scale, "<!here>"),
        "runbook_history": lambda: contexts.history(
            _hostile_phrase, [replace(running, requester="<!channel>", approver=HOSTILE)] * 30, HOSTILE, _result()
        ),
        "runbook_not_attached": dict,
        "runbook_breakglass": lambda: contexts.breakglass_notice(running, HOSTILE, contexts.approvers(catalog)),
    }
