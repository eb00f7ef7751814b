"""Message rendering: CPU per /runbook message, as the hot path renders it and fully validated.

A status reply, a preview and a progress update are rendered from their templates through
RunbookViews (the hot path: Jinja, the libyaml load, cut to Slack's limits) and, for the ratio,
through the same template with slack_sdk model validation on (what check-config does). CPU time
(time.process_time), best of `--repeat` rounds of `--number` renders, so a loaded machine moves the
figures less than wall-clock time would. Nothing is started; no network.

    .venv/bin/python -m bench.message_render [--number 300] [--repeat 15]
"""

from __future__ import annotations

import argparse
import time
import timeit
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot import errors
from bot.actions.registry import ActionResult, Change
from bot.runbooks.engine import PendingOutcome, ReadOnlyOutcome
from bot.runbooks.executions import Execution, State, StepRecord
from bot.runbooks.model import Procedure
from bot.settings import PROJECT_ROOT
from bot.slack import runbook_contexts as contexts
from bot.slack.runbook_views import RunbookViews
from bot.templating import Templates

_AT = datetime(2026, 1, 1, 9, tzinfo=UTC)


def _cases(templates: Templates) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    status = Procedure.model_validate(
        {
            "name": "status",
            "summary": "Deployment replicas",
            "roles": ["viewer"],
            "params": [{"name": "service", "type": "service"}],
            "steps": [{"action": "kubernetes.status"}],
        }
    )
    scale = Procedure.model_validate(
        {
            "name": "scale",
            "summary": "Scale",
            "roles": ["operator"],
            "destructive": True,
            "params": [{"name": "service", "type": "service"}, {"name": "replicas", "type": "int"}],
            "steps": [{"action": "kubernetes.scale"}, {"action": "kubernetes.rollout_status"}],
        }
    )
    pods = "\n".join(f"backend-7d9f{i:02d}   Running   0   {i}m" for i in range(12))
    outcome = ReadOnlyOutcome(
        status,
        {"service": "backend"},
        (ActionResult(errors.Said("k8s_pods", pods=3, ready=3), details=pods),),
        "status backend",
    )
    pending = Execution(
        uuid.uuid4(),
        "scale",
        {"service": "backend", "replicas": 5},
        "backend",
        "deployment/backend",
        "U0ALICE",
        "C0OPS",
        "none",
        State.PENDING,
        _AT,
        _AT + timedelta(minutes=5),
        command="scale backend 5",
    )
    preview = PendingOutcome(scale, pending, (Change("replicas", "3", "5"),), ())
    running = Execution(**{**pending.__dict__, "state": State.RUNNING, "approver": "U0BOB", "started_at": _AT})
    steps = (StepRecord(0, "scale backend", True, "replicas 3 → 5", 0.4),)
    line = errors.Said("k8s_rollout_updating", deployment="mail-score-backend", updated=2, desired=5)
    views = RunbookViews(templates)
    return {
        "status reply": (
            lambda: views.read_only_result(outcome, "U0ALICE"),
            lambda: templates.render("runbook_result", contexts.read_only_result(templates.phrase, outcome, "U0ALICE")),
        ),
        "preview": (
            lambda: views.preview(preview),
            lambda: templates.render("runbook_preview", contexts.preview(templates.phrase, preview)),
        ),
        "progress update": (
            lambda: views.progress(running, scale, steps, "rollout status", line),
            lambda: templates.render(
                "runbook_progress", contexts.progress(templates.phrase, running, scale, steps, "rollout status", line)
            ),
        ),
    }


def _best_ms(fn: Callable[[], object], number: int, repeat: int) -> float:
    fn()
    timer = timeit.Timer(fn, timer=time.process_time)
    return min(timer.timeit(number) for _ in range(repeat)) / number * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--number", type=int, default=300, help="renders per round")
    parser.add_argument("--repeat", type=int, default=15, help="rounds; the best is reported")
    args = parser.parse_args()
    templates = Templates(PROJECT_ROOT / "templates")
    print(f"{'message':<18}{'hot path ms':>12}{'validated ms':>14}{'validated/hot':>15}")
    for name, (hot, validated) in _cases(templates).items():
        fast, full = _best_ms(hot, args.number, args.repeat), _best_ms(validated, args.number, args.repeat)
        print(f"{name:<18}{fast:>12.3f}{full:>14.3f}{full / fast:>15.2f}")


if __name__ == "__main__":
    main()
