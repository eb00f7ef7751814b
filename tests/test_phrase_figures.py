"""Figures reach a phrase as numbers, and the phrase formats them: a team can show a timeout or a
Prometheus value its own way without touching Python, and check-config still renders the phrase with
hostile text in every field."""

from __future__ import annotations

import json
from pathlib import Path

from bot import errors
from bot.health.model import PROMETHEUS, CheckResult, Report, ServiceHealth, State
from bot.settings import PROJECT_ROOT
from bot.slack.health_contexts import Occasion
from bot.slack.health_views import render
from bot.templating import PINGS, Templates, check_templates
from tests.phrase_books import reworded

TEMPLATES = PROJECT_ROOT / "templates"
HOSTILE = "<!channel> <@U0SAMPLE> error rate"


def test_the_packaged_book_shows_timeouts_and_prometheus_values_as_before() -> None:
    book = Templates(TEMPLATES)
    assert book.plain(errors.Said("no_answer_within", seconds=2.0)) == "no answer within 2 s"
    assert book.plain(errors.Said("no_answer_within", seconds=0.25)) == "no answer within 0.25 s"
    timed_out = errors.Said("k8s_timed_out", op="get deployments in production", seconds=0.3)
    assert book.plain(timed_out) == "get deployments in production timed out after 0.3s"
    assert book.plain(errors.Said("health_prometheus", name="p99", value=0.123456)) == "p99 = 0.1235"
    assert book.plain(errors.Said("health_prometheus", name="rps", value=12345.678)) == "rps = 1.235e+04"


def test_a_team_formats_a_prometheus_figure_in_its_book_and_the_report_shows_it(tmp_path: Path) -> None:
    ours = reworded(
        tmp_path,
        health_prometheus="{{ name }} at {{ '%.1f' | format(value | float) }} per second",
        no_answer_within="gave up after {{ '%d' | format(seconds | float) }} seconds",
    )
    assert check_templates(ours.dir, {}) == []  # hostile text in every field still renders
    checks = (
        CheckResult("backend", PROMETHEUS, State.FAIL, errors.Said("health_prometheus", name=HOSTILE, value=12.345)),
        CheckResult("backend", "http", State.UNKNOWN, errors.Said("no_answer_within", seconds=2.0)),
    )
    report = Report((ServiceHealth("backend", checks),), 1.0)

    rendered = render(ours, report, Occasion(asked_by="U0ALICE"), procedures=())

    shown = json.dumps([rendered.summary, rendered.thread], ensure_ascii=False)
    assert "error rate at 12.3 per second" in shown
    assert "gave up after 2 seconds" in shown
    assert "checked in 1.0 s" in shown  # the report's own figure, formatted by its template
    assert "&lt;!channel&gt;" in shown and not any(ping in shown for ping in PINGS)
