"""The live progress line of a running step, as Slack shows it: a phrase in the book's words (a team's,
when reworded), its fields escaped so a deployment's name can never ping or link."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot import errors
from bot.runbooks.executions import Execution, State, StepRecord
from bot.slack.runbook_actions import MessageProgress
from bot.slack.runbook_views import RunbookViews
from bot.slack.webapi import SlackWebApi
from bot.templating import PINGS, Templates, check_templates
from sandbox.slack_fake import SlackFake
from tests.phrase_books import reworded
from tests.slack.executions import AT, execution
from tests.slack.test_action_phrases import TEMPLATES, _procedure

HOSTILE = "<!channel> <@U0SAMPLE> <http://evil|click> *bold* `tick`"


def _running() -> Execution:
    return execution(
        procedure="restart",
        args={"service": "backend"},
        command="restart backend",
        approver="U0BOB",
        started_at=AT,
    )


@pytest.fixture
async def api(slack: SlackFake) -> AsyncIterator[SlackWebApi]:
    client = SlackWebApi(token=slack.token, base_url=slack.api_url, timeout=5)
    try:
        yield client
    finally:
        await client.close()


async def _shown_live(slack: SlackFake, api: SlackWebApi, views: RunbookViews, line: errors.Said) -> str:
    """The preview message after the engine reported `line` under the running step (MessageProgress)."""
    execution = _running()
    ts = await api.post_message(execution.channel_id, "preview")
    progress = MessageProgress(api, views, execution, _procedure("restart"), ts, approvers="")
    done = (StepRecord(0, "kubernetes.rollout_restart", True, "Restarted backend (rolling, new revision)", 0.2),)
    await progress.update(execution, done, "kubernetes.rollout_status", line)
    message = slack.message(execution.channel_id, ts)
    return message.text + json.dumps(message.blocks, ensure_ascii=False)


async def test_a_live_progress_line_is_said_in_the_books_words_and_a_teams_rewording_reaches_slack(
    slack: SlackFake, api: SlackWebApi, tmp_path: Path
) -> None:
    line = errors.Said("k8s_rollout_updating", deployment="mail-score-backend", updated=2, desired=5)

    shown = await _shown_live(slack, api, RunbookViews(Templates(TEMPLATES)), line)
    assert (
        ':arrows_counterclockwise: kubernetes.rollout_status · Waiting for deployment \\"mail-score-backend\\" '
        "rollout to finish: 2 out of 5 new replicas have been updated..." in shown
    )

    ours = reworded(
        tmp_path, k8s_rollout_updating="{{ deployment }}: {{ updated }}/{{ desired }} pods on the new version"
    )
    assert check_templates(ours.dir, {}) == []  # the reworded book uses only the fields the code gives
    shown = await _shown_live(slack, api, RunbookViews(ours), line)

    assert "kubernetes.rollout_status · mail-score-backend: 2/5 pods on the new version" in shown
    assert "Waiting for deployment" not in shown


async def test_a_hostile_deployment_name_in_a_progress_line_never_pings_or_links(
    slack: SlackFake, api: SlackWebApi
) -> None:
    views = RunbookViews(Templates(TEMPLATES))
    lines = (
        errors.Said("k8s_rollout_available", deployment=HOSTILE, available=1, updated=3),
        errors.Said("k8s_rolled_out", deployment=HOSTILE),
    )

    for line in lines:
        shown = await _shown_live(slack, api, views, line)

        assert not any(ping in shown for ping in PINGS) and "<http" not in shown
        assert "&lt;!channel&gt; &lt;@U0SAMPLE&gt; &lt;http://evil|click&gt;" in shown


def test_a_run_that_ended_shows_no_live_line_however_it_is_said() -> None:
    views = RunbookViews(Templates(TEMPLATES))
    ended = replace(_running(), state=State.SUCCEEDED, finished_at=AT + timedelta(seconds=3))

    _, blocks = views.progress(ended, _procedure("restart"), (), None, errors.Said("k8s_rolled_out", deployment="x"))

    assert "successfully rolled out" not in json.dumps(blocks)
