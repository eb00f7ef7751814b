"""However many services, every message of the report is valid Block Kit within Slack's limits."""

from __future__ import annotations

import json

from bot import errors
from bot.health.model import CheckResult, Report, ServiceHealth, State, Suggestion
from bot.ids import SUGGESTION_ACTION
from bot.settings import PROJECT_ROOT
from bot.slack.health_contexts import Occasion
from bot.slack.health_views import render
from bot.templating import Templates
from sandbox.blockkit import iter_elements, validate_message_blocks

STATES = [State.FAIL, State.WARN, State.UNKNOWN, State.OK]

TEMPLATES = Templates(PROJECT_ROOT / "templates")


def synthetic_report(count: int) -> Report:
    services = []
    for i in range(count):
        state = STATES[i % len(STATES)]
        name = f"service-with-a-rather-long-name-{i:04d}"
        checks = (
            CheckResult(
                name,
                "kubernetes",
                state,
                errors.Said("check_error", error=f"{i % 3}/3 ready, {i} restarts " + "x" * 60),
                Suggestion("restart", name) if state == State.FAIL else None,
            ),
            CheckResult(
                name,
                "http",
                State.FAIL if i % 8 == 0 else State.OK,
                errors.Said("health_http", status=503, latency_ms=12),
                Suggestion("scale", f"{name} 4") if i % 8 == 0 else None,
            ),
        )
        services.append(ServiceHealth(name, checks))
    return Report(tuple(services), 1.0)


def test_block_kit_stays_within_slack_limits_with_200_services() -> None:
    report = synthetic_report(200)
    rendered = render(TEMPLATES, report, Occasion(scheduled_at="09:00"), procedures={"restart", "scale"})
    messages = [rendered.summary, *rendered.thread]
    all_buttons = []
    for text, blocks in messages:
        assert text
        assert len(blocks) <= 50
        assert validate_message_blocks(blocks) == []
        for block in blocks:
            if block["type"] == "actions":
                assert len(block["elements"]) <= 25
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000
        all_buttons += [el for _, el in iter_elements(blocks) if el.get("type") == "button"]
    # One button per failing check's distinct suggestion, none lost to the limits.
    assert len(all_buttons) == len(report.suggestions())
    assert all(SUGGESTION_ACTION.match(b["action_id"]) for b in all_buttons)
    every_text = json.dumps([blocks for _, blocks in messages])
    assert all(s.service in every_text for s in report.services)


def test_only_procedures_that_exist_get_a_button() -> None:
    report = synthetic_report(8)
    rendered = render(TEMPLATES, report, Occasion(asked_by="U0ALICE"), procedures={"restart"})
    _, blocks = rendered.summary
    values = [json.loads(el["value"]) for _, el in iter_elements(blocks) if el.get("type") == "button"]
    assert values
    assert {v["p"] for v in values} == {"restart"}
