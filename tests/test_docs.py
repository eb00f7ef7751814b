"""docs/procedures.md stays in step with the models and the action registry."""

from __future__ import annotations

import re

import pytest

from bot.actions import reference
from bot.app import load_configuration
from bot.catalog import ReplicaLimits, Service
from bot.catalog_outbound import (
    EscalationStep,
    PagerDutyConfig,
    PagerDutyRoute,
    PublicSeverity,
    StatuspageConfig,
    StatuspageService,
)
from bot.catalog_targets import (
    ComponentSpec,
    ComposeTarget,
    ConfigMapMaintenance,
    DockerHost,
    EnvMaintenance,
    KubernetesTarget,
)
from bot.runbooks.model import (
    DurationParam,
    EnumParam,
    IntParam,
    PinnedTarget,
    Procedure,
    ServiceParam,
    Step,
    StringParam,
)
from bot.settings import PROJECT_ROOT, Settings

DOC = PROJECT_ROOT / "docs" / "procedures.md"
COMMON_PARAM_FIELDS = {"name", "type", "help", "required", "flag"}
# Each section heading of the doc, and the fields its table documents.
SECTIONS: dict[str, set[str]] = {
    "## Procedure": set(Procedure.model_fields),
    "## Step": set(Step.model_fields),
    "## Pinned target": set(PinnedTarget.model_fields),
    "## Parameters": COMMON_PARAM_FIELDS,
    "### `service`": set(ServiceParam.model_fields) - COMMON_PARAM_FIELDS,
    "### `int`": set(IntParam.model_fields) - COMMON_PARAM_FIELDS,
    "### `enum`": set(EnumParam.model_fields) - COMMON_PARAM_FIELDS,
    "### `duration`": set(DurationParam.model_fields) - COMMON_PARAM_FIELDS,
    "### `string`": set(StringParam.model_fields) - COMMON_PARAM_FIELDS,
    "## Service": set(Service.model_fields),
    "## Kubernetes target": set(KubernetesTarget.model_fields),
    "## Component": set(ComponentSpec.model_fields),
    "## Compose target": set(ComposeTarget.model_fields),
    "## Docker host": set(DockerHost.model_fields),
    "## Replica limits": set(ReplicaLimits.model_fields),
    "## Maintenance": set(EnvMaintenance.model_fields) | set(ConfigMapMaintenance.model_fields),
    "## Statuspage (": set(StatuspageConfig.model_fields),
    "## Statuspage service": set(StatuspageService.model_fields),
    "## Statuspage severity": set(PublicSeverity.model_fields),
    "## PagerDuty (": set(PagerDutyConfig.model_fields),
    "## PagerDuty route": set(PagerDutyRoute.model_fields),
    "## Escalation step": set(EscalationStep.model_fields),
}


def section(text: str, heading: str) -> str:
    start = text.index("\n" + heading) + 1
    following = re.search(r"^#{2,3} ", text[start + len(heading) :], flags=re.MULTILINE)
    return text[start : start + len(heading) + following.start()] if following else text[start:]


@pytest.mark.parametrize("heading", list(SECTIONS))
def test_every_field_of_the_model_is_documented_and_nothing_else(heading: str) -> None:
    rows = re.findall(r"^\| `([a-z_]+)` \|", section(DOC.read_text(encoding="utf-8"), heading), flags=re.MULTILINE)
    assert set(rows) == SECTIONS[heading], f"{DOC} {heading}: the table's fields differ from the model's"


def test_the_actions_table_is_what_runbook_bot_actions_prints() -> None:
    _, registry, _ = load_configuration(Settings.model_validate({}))
    text = DOC.read_text(encoding="utf-8")
    embedded = text.split("<!-- actions:begin -->\n", 1)[1].split("<!-- actions:end -->", 1)[0]
    assert embedded == reference.markdown_table(registry), (
        "regenerate the table: runbook-bot actions --markdown (between the actions markers)"
    )


def test_every_test_a_readme_table_names_exists() -> None:
    """A Guarantees row points at the tests that show its promise; a renamed test must not leave it pointing nowhere.
    `…::name` in a row means the file named last in that row."""
    missing = []
    for row in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if not row.startswith("|"):
            continue
        current = None
        for path, name in re.findall(r"(tests/[\w/]+\.py)?::(test_\w+)", row.replace("…::", "::")):
            current = path or current
            if current is None:
                continue
            source = PROJECT_ROOT / current
            if not source.is_file() or f"def {name}(" not in source.read_text(encoding="utf-8"):
                missing.append(f"{current}::{name}")
    assert missing == []
