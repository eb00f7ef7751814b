"""Configuration: good and bad catalogs and procedures, each problem named with file and key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import errors
from bot.catalog import load_catalog
from bot.settings import PROJECT_ROOT
from tests.cli_runs import check_config_process, run_cli

GOOD = PROJECT_ROOT / "chatops.yml"


def test_shipped_catalog_models_the_runbooks_services_and_demo_users() -> None:
    catalog = load_catalog(GOOD)
    assert catalog.services["backend"].kubernetes.deployment == "mail-score-backend"
    assert catalog.services["frontend"].kubernetes.namespace == "mail-score-production"
    assert catalog.services["email-dashboard"].kubernetes.namespace == "production"
    assert catalog.services["email-triage"].kubernetes.deployment == "email-triage-api"
    assert "U0ALICE" in catalog.roles["operator"].users
    assert "U0BOB" in catalog.roles["approver"].users
    assert "U0CAROL" not in catalog.roles["operator"].users


def test_broken_catalog_lists_every_problem_with_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "chatops.yml"
    bad.write_text(
        "channels: {ops: C0OPS, incidents: C0INC, health: C0H, alerts: nope}\n"
        "roles: {viewer: {users: [alice]}, operator: {}, approver: {}}\n"
        "services:\n"
        "  backend: {namespace: Bad_NS, deployment: web, replicas: {min: 5, max: 2}, colour: blue}\n"
    )
    with pytest.raises(errors.ConfigError) as caught:
        load_catalog(bad)
    text = "\n".join(caught.value.problems)
    assert f"{bad}: channels.alerts" in text
    assert "roles.viewer.users.0" in text
    assert "services.backend.kubernetes.namespace" in text
    assert "services.backend.replicas" in text
    assert "swap them" in text
    assert "services.backend.colour: unknown key" in text


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "chatops.yml"
    bad.write_text("channels:\n  ops: [unclosed\n")
    with pytest.raises(errors.ConfigError) as caught:
        load_catalog(bad)
    assert "line" in caught.value.problems[0]


def test_check_config_passes_on_the_shipped_configuration() -> None:
    result = check_config_process({})
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout


def test_check_config_fails_listing_every_bad_procedure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commands = tmp_path / "commands"
    commands.mkdir()
    (commands / "scale.yml").write_text(
        "name: scale\nsummary: s\nroles: [wizard]\ndestructive: false\n"
        "params: [{name: service, type: service}, {name: n, type: int}]\n"
        "steps: [{action: kubernetes.scale, args: {replicas: $n}}]\n"
    )
    (commands / "typo.yml").write_text("name: typo\nsummary: s\nroles: [viewer]\nsteps: [{action: kubernetes.scael}]\n")
    result = run_cli(["check-config"], {"RUNBOOK_COMMANDS_DIR": str(commands)}, monkeypatch=monkeypatch)
    assert result.returncode == 2
    assert "roles: `wizard` is not a role" in result.stderr
    assert "set `destructive: true`" in result.stderr
    assert "unknown action `kubernetes.scael`" in result.stderr


def test_serve_refuses_to_start_with_the_same_problems_check_config_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    for template in (PROJECT_ROOT / "templates").glob("*.j2"):
        (templates / template.name).write_text(template.read_text())
    (templates / "incident_declared.yml.j2").write_text("text: {{ unclosed\n")
    env = {"RUNBOOK_TEMPLATES_DIR": str(templates), "RUNBOOK_DATA_DIR": str(tmp_path / "data"), "PORT": "0"}
    check = run_cli(["check-config"], env, monkeypatch=monkeypatch)
    serve = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"],
        # A cache folder of its own: serve works the check out itself rather than read check-config's.
        env={**os.environ, **env, "RUNBOOK_CACHE_DIR": str(tmp_path / "serve-cache")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert check.returncode == serve.returncode == 2
    problem = next(line for line in check.stderr.splitlines() if "incident_declared.yml.j2" in line)
    assert problem in serve.stderr
