"""Issue 16: every /runbook message is a template; each renders valid Block Kit with hostile values,
the hot-path render (no slack_sdk validation) gives what the validated one gives, and long runtime
values are cut to Slack's limits rather than refused."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bot import errors
from bot.actions.registry import ActionResult, Chart
from bot.app import template_samples
from bot.catalog import Catalog
from bot.runbooks.engine import ReadOnlyOutcome
from bot.runbooks.executions import StepRecord
from bot.runbooks.model import Procedure
from bot.settings import PROJECT_ROOT
from bot.slack import runbook_samples
from bot.slack.runbook_views import RunbookViews
from bot.templating import PINGS, SUFFIX, Templates, check_templates, load_document
from sandbox import blockkit
from tests.slack.executions import execution

TEMPLATES = PROJECT_ROOT / "templates"
_AT = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def _procedure(name: str, steps: int = 2) -> Procedure:
    return Procedure.model_validate(
        {"name": name, "summary": "s", "roles": ["operator"], "steps": [{"action": "kubernetes.scale"}] * steps}
    )


def test_every_runbook_template_renders_valid_block_kit_with_hostile_values(catalog: Catalog) -> None:
    templates = Templates(TEMPLATES)
    for name, make in runbook_samples.sample_contexts(catalog).items():
        rendered = templates.render(name, make())
        assert blockkit.validate_message_blocks(rendered.blocks) == [], name
        shown = json.dumps([rendered.text, rendered.blocks])
        assert not [ping for ping in PINGS if ping in shown], name


def test_the_hot_path_render_gives_exactly_what_the_validated_render_gives(catalog: Catalog) -> None:
    templates = Templates(TEMPLATES)
    for name, make in runbook_samples.sample_contexts(catalog).items():
        context = make()
        assert templates.render(name, context, validate=False) == templates.render(name, context), name


def test_every_runbook_template_has_a_hostile_sample_that_check_config_renders(catalog: Catalog) -> None:
    shipped = {p.name.removesuffix(SUFFIX) for p in TEMPLATES.glob(f"runbook_*{SUFFIX}")}

    assert shipped == set(runbook_samples.sample_contexts(catalog))
    assert shipped <= set(template_samples(catalog))
    assert check_templates(TEMPLATES, template_samples(catalog)) == []


def test_check_templates_names_a_broken_or_missing_runbook_template(catalog: Catalog, tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    (folder / "runbook_progress.yml.j2").write_text("text: {{ no_such_value | q }}\nblocks: []\n")
    (folder / "runbook_preview.yml.j2").unlink()
    (folder / "runbook_macros.j2").write_text("{% macro icon(state) %}{% endfor %}")

    joined = "\n".join(check_templates(folder, template_samples(catalog)))

    assert "runbook_progress.yml.j2" in joined and "no_such_value" in joined
    assert "runbook_preview.yml.j2: missing" in joined
    assert "runbook_macros.j2" in joined  # every template importing it fails, naming it


def test_a_progress_message_with_more_steps_than_a_section_holds_is_cut_with_a_mark() -> None:
    views = RunbookViews(Templates(TEMPLATES))
    steps = [StepRecord(i, f"step {i} " + "x" * 80, True, "done", 0.1) for i in range(200)]

    _, blocks = views.progress(execution(), _procedure("scale", 200), steps, None, None)

    assert blockkit.validate_message_blocks(blocks) == []
    lines = blocks[1]["text"]["text"]
    assert len(lines) == 3000 and lines.endswith("…")
    assert blocks[-1]["elements"][0]["text"].startswith("step 200 of 200")


def test_help_for_more_procedures_than_fifty_blocks_hold_says_how_many_were_left_out() -> None:
    views = RunbookViews(Templates(TEMPLATES))

    blocks = views.help_overview([_procedure(f"p{i:04d}") for i in range(1000)], [])

    assert blockkit.validate_message_blocks(blocks) == []
    assert len(blocks) == 50
    assert blocks[-1]["elements"][0]["text"] == "… 20 more blocks not shown"  # 1 header + 67 sections + 1


def test_a_user_typed_value_cannot_ping_or_break_out_of_its_code_span() -> None:
    views = RunbookViews(Templates(TEMPLATES))

    _, blocks = views.progress(execution(command="scale backend` <!channel> `5"), _procedure("scale"), [], None, None)

    header = blocks[0]["text"]["text"]
    assert "`/runbook scale backend' &lt;!channel&gt; '5`" in header
    assert header.endswith("requested by <@U0ALICE>")


@pytest.mark.parametrize(
    "source",
    [
        "text: hi\nblocks: [{type: section, emoji: true, n: 'true', off: no}]\n",
        "a: 1\nb: 2026-01-01\nc: 1.5\nd: 0x1f\n",
        "n: [1, -2, 0x1f, 0o17, 1_000, '3', 1:30, 1.5, .5, -1e3, .inf, -.Inf, 6.8523015e+5, +12]\n",
        "base: &b {x: 1, y: [a, ~]}\nmerged: {<<: *b, y: 2}\nagain: *b\n",
        "'quoted key': \"yes\"\nplain: yes\nempty:\n",
    ],
)
def test_the_fast_yaml_load_is_the_safe_load(source: str) -> None:
    assert load_document(source) == yaml.safe_load(source)


def test_aliases_in_a_template_are_shared_as_safe_load_shares_them_never_expanded() -> None:
    laughs = "a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n"

    document = load_document(laughs)

    assert document == yaml.safe_load(laughs)
    assert isinstance(document, dict) and document["c"][0] is document["c"][1]


@pytest.mark.parametrize(
    ("chart", "caption"),
    [
        (
            Chart("error rate", "backend", "6h", 1, 0.0712345, "fail", 0.05),
            "error rate of backend, last 6h: now 0.07123, fail (above 0.05); chart in the thread",
        ),
        (Chart("up", "backend", "1h", 2, 1.0, "ok", None), "up of backend, last 1h: now 1, ok; chart in the thread"),
        (
            Chart("up <!here>", "backend", "24h", 0, None, "", None),
            "up &lt;!here&gt; of backend, last 24h: chart in the thread",
        ),
        (Chart("up", None, "1h", 1, 1.0, "ok", None), "up of this service, last 1h: now 1, ok; chart in the thread"),
    ],
)
def test_a_chart_result_is_captioned_by_the_template_from_the_actions_facts(chart: Chart, caption: str) -> None:
    status = _procedure("graph")
    title = errors.Said("prometheus_chart", check=chart.check, service=chart.service, window=chart.window)
    outcome = ReadOnlyOutcome(status, {}, (ActionResult(title, chart=chart),), "graph backend")

    text, blocks = RunbookViews(Templates(TEMPLATES)).read_only_result(outcome, "U0ALICE")

    assert text == f"graph backend: {caption}"
    assert blocks[0]["text"]["text"] == caption
