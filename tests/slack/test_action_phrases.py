"""What Slack shows of an action's result: its phrase in the book's words (a team's, when reworded),
its fields escaped so a name can never ping or link."""

from __future__ import annotations

import json
from pathlib import Path

from bot import errors
from bot.actions.registry import ActionResult, Change
from bot.runbooks.engine import PendingOutcome, ReadOnlyOutcome
from bot.runbooks.executions import State
from bot.runbooks.model import Procedure
from bot.settings import PROJECT_ROOT
from bot.slack.runbook_views import RunbookViews
from bot.templating import PINGS, Templates, check_templates
from tests.phrase_books import reworded
from tests.slack.executions import execution

TEMPLATES = PROJECT_ROOT / "templates"
SCALED = errors.Said("k8s_scaled", dry_run=False, deployment="backend", before=3, after=5, hpa=None)


def _procedure(name: str) -> Procedure:
    return Procedure.model_validate({"name": name, "summary": "s", "roles": ["operator"], "steps": [{"action": "x"}]})


def _pending(changes: tuple[Change, ...], notes: tuple[errors.Said, ...]) -> PendingOutcome:
    restart = execution(
        State.PENDING, procedure="restart", args={"service": "worker"}, service="worker", command="restart worker"
    )
    return PendingOutcome(_procedure("restart"), restart, changes, notes)


def test_a_result_is_said_in_the_books_words_and_a_teams_rewording_reaches_the_message(tmp_path: Path) -> None:
    outcome = ReadOnlyOutcome(_procedure("scale"), {}, (ActionResult(SCALED),), "scale backend 5")

    text, blocks = RunbookViews(Templates(TEMPLATES)).read_only_result(outcome, "U0ALICE")
    assert text == "scale backend 5: Scaled backend from 3 to 5"

    ours = reworded(tmp_path, k8s_scaled="{{ deployment }} now runs {{ after }} pods (was {{ before }})")
    assert check_templates(ours.dir, {}) == []  # the reworded book uses only the fields the code gives
    text, blocks = RunbookViews(ours).read_only_result(outcome, "U0ALICE")

    assert text == "scale backend 5: backend now runs 5 pods (was 3)"
    assert blocks[0]["text"]["text"] == "backend now runs 5 pods (was 3)"


def test_a_preview_says_its_changes_and_notes_in_a_teams_words(tmp_path: Path) -> None:
    said = errors.Said("compose_restarted", dry_run=True, containers=1, service="worker", stop_timeout=10)
    pending = _pending(
        (Change(errors.Said("compose_container", container="worker-1"), "running", "restarted"),), (said,)
    )
    ours = reworded(
        tmp_path, compose_container="the box {{ container }}", compose_restarted="Will bounce {{ service }}"
    )

    _, blocks = RunbookViews(ours).preview(pending)

    shown = json.dumps(blocks, ensure_ascii=False)
    assert "the box worker-1: `running` → `restarted`" in shown
    assert "Will bounce worker" in shown
    assert "container worker-1" not in shown and "Dry run" not in shown


def test_a_name_in_an_actions_result_never_pings_or_links_in_slack() -> None:
    hostile = "<!channel> <@U0SAMPLE> <http://evil|click> *bold* `tick`"
    result = ActionResult(
        errors.Said("compose_stopped", dry_run=False, containers=[hostile, "web-1"]),
        changes=(
            Change(errors.Said("compose_container", container=hostile), errors.Said("redis_jobs", jobs=hostile), "x"),
        ),
    )
    views = RunbookViews(Templates(TEMPLATES))
    outcome = ReadOnlyOutcome(_procedure("stop"), {}, (result,), "stop worker")
    notes = (errors.Said("redis_no_key", pattern=errors.Code(hostile)), errors.Said("step_then", step=hostile))

    for text, blocks in (views.read_only_result(outcome, "U0ALICE"), views.preview(_pending(result.changes, notes))):
        shown = text + json.dumps(blocks)
        assert not any(ping in shown for ping in PINGS) and "<http" not in shown
        assert "&lt;!channel&gt;" in shown
    _, blocks = views.read_only_result(outcome, "U0ALICE")
    assert blocks[0]["text"]["text"].startswith("Stopped &lt;!channel&gt; &lt;@U0SAMPLE&gt;")
