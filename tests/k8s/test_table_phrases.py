"""The tables and lines of read actions: kubectl's layout, laid out in Python, with every header and
every word a phrase of the book (names, states and figures are data). A team's rewording reaches the
result Slack shows, and a hostile name in a cell never pings."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot import errors
from bot.actions import tables
from bot.actions.registry import ActionContext, ActionResult
from bot.catalog import Catalog
from bot.k8s import Kube
from bot.runbooks.engine import ReadOnlyOutcome
from bot.runbooks.model import Procedure
from bot.settings import PROJECT_ROOT
from bot.slack.runbook_views import RunbookViews
from bot.templating import PHRASES, PINGS, Templates, check_templates
from sandbox.cluster import SandboxCluster
from tests.k8s.test_actions import registry

TEMPLATES = PROJECT_ROOT / "templates"


@pytest.fixture(autouse=True)
def triage_world(cluster: SandboxCluster, catalog: Catalog) -> None:
    cluster.seed_triage(catalog)


@pytest.fixture
def teams_book(tmp_path: Path) -> Iterator[Templates]:
    """The process says details with a team's reworded book (as the composition root installs it)."""
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    book = yaml.safe_load((folder / PHRASES).read_text(encoding="utf-8"))
    book.update(
        column_pod="PODNAME",
        column_restarts="RST",
        k8s_describe_ready="Bereit: {{ ready }} / Neustarts: {{ restarts }}",
        k8s_hpa_metric="{{ metric }} now {{ current }}, aiming at {{ target }}",
    )
    (folder / PHRASES).write_text(yaml.safe_dump(book, allow_unicode=True), encoding="utf-8")
    ours = Templates(folder)
    assert check_templates(folder, {}) == []
    errors.use_phrase_book(ours.plain)
    try:
        yield ours
    finally:
        errors.use_phrase_book(Templates(TEMPLATES).plain)


async def _read(kube: Kube, catalog: Catalog, action: str, service: str = "email-dashboard") -> ActionResult:
    reg = registry(kube)
    ctx = ActionContext(service, catalog.service(service), timeout_seconds=10)
    return await reg.get(f"kubernetes.{action}").run(ctx, reg.validate_params(f"kubernetes.{action}", {}))


def _shown(templates: Templates, result: ActionResult) -> str:
    procedure = Procedure.model_validate(
        {"name": "pods", "summary": "s", "roles": ["operator"], "steps": [{"action": "x"}]}
    )
    outcome = ReadOnlyOutcome(procedure, {}, (result,), "pods email-dashboard")
    text, blocks = RunbookViews(templates).read_only_result(outcome, "U0ALICE")
    return text + json.dumps(blocks, ensure_ascii=False)


async def test_the_packaged_book_lays_tables_out_as_kubectl_does(kube: Kube, catalog: Catalog) -> None:
    pods = await _read(kube, catalog, "pods")
    assert pods.details is not None
    assert pods.details.splitlines()[0] == f"{'POD':<48} {'READY':<6} {'STATUS':<10} {'RESTARTS':<8} {'AGE':<6} NODE"
    nodes = await _read(kube, catalog, "nodes")
    assert nodes.details is not None
    assert nodes.details.splitlines()[0] == f"{'NAME':<40} {'STATUS':<26} {'CPU':<7} {'MEMORY':<12} {'AGE':<6} VERSION"
    events = await _read(kube, catalog, "events")
    assert events.details is not None
    assert events.details.splitlines()[0] == f"{'LAST SEEN':<9} {'TYPE':<8} {'REASON':<20} {'OBJECT':<50} MESSAGE"

    described = (await _read(kube, catalog, "describe")).details or ""
    assert described.startswith("Pod email-dashboard-") and "\n  Conditions: " in described
    assert "\n  Container " in described and "\n    State: " in described and "\n    Ready: " in described
    endpoints = (await _read(kube, catalog, "endpoints")).details or ""
    assert "\n  endpoints: 2 ready, 1 not ready\n" in endpoints and endpoints.endswith(
        "ingress hosts: dashboard.example.com"
    )
    assert "  (not ready)" in endpoints
    hpa = (await _read(kube, catalog, "hpa", "backend")).details or ""
    assert hpa.startswith("cpu: 64% (target 70%)")


async def test_a_teams_words_for_headers_and_lines_reach_the_result_slack_shows(
    kube: Kube, catalog: Catalog, teams_book: Templates
) -> None:
    pods = await _read(kube, catalog, "pods")
    described = await _read(kube, catalog, "describe")
    hpa = await _read(kube, catalog, "hpa", "backend")

    assert (pods.details or "").startswith(f"{'PODNAME':<48} {'READY':<6} {'STATUS':<10} {'RST':<8} ")
    assert "Bereit: " in (described.details or "") and "Ready: " not in (described.details or "")
    shown = _shown(teams_book, hpa)
    assert "cpu now 64%, aiming at 70%" in shown


def test_a_hostile_name_in_a_table_cell_never_pings() -> None:
    hostile = "<!channel> <@U0SAMPLE> <http://evil|click>"
    columns = (tables.Column(errors.Said("column_pod"), 10), tables.Column(errors.Said("column_status")))
    lines = tables.table(columns, [(hostile, "Running")])
    result = ActionResult(errors.Said("k8s_pods", pods=1, ready=1), details="\n".join(lines))

    shown = _shown(Templates(TEMPLATES), result)

    assert "&lt;!channel&gt; &lt;@U0SAMPLE&gt;" in shown
    assert not any(ping in shown for ping in PINGS) and "<http" not in shown
