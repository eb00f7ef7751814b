"""The target model: catalog, procedures and actions cross-checked at load time; locks per target."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot import errors
from bot.app import load_configuration
from bot.catalog import Catalog, load_catalog
from bot.runbooks import parser
from bot.runbooks.locking import lock_name
from bot.runbooks.model import ServiceParam
from bot.settings import PROJECT_ROOT, Settings

CATALOG = PROJECT_ROOT / "chatops.yml"


def configuration(commands: Path | None = None, catalog: Path = CATALOG) -> tuple[Catalog, object, dict[str, object]]:
    env = {"CHATOPS_CONFIG": str(catalog)}
    if commands is not None:
        env["RUNBOOK_COMMANDS_DIR"] = str(commands)
    return load_configuration(Settings.model_validate(env))


def problems_of(tmp_path: Path, **files: str) -> list[str]:
    commands = tmp_path / "commands"
    commands.mkdir()
    for name, text in files.items():
        (commands / f"{name}.yml").write_text(text)
    with pytest.raises(errors.ConfigError) as caught:
        configuration(commands)
    return caught.value.problems


def test_a_pinned_service_without_the_target_kind_fails_the_check_naming_file_key_and_fix(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        restart_ws=(
            "name: restart-ws\nsummary: s\nroles: [operator]\ndestructive: true\n"
            "target: {service: newsletter-app}\nsteps: [{action: kubernetes.rollout_restart}]\n"
        ),
    )
    assert len(problems) == 1
    assert "restart_ws.yml: target: newsletter-app has no kubernetes" in problems[0]
    assert "fix the pin" in problems[0]


def test_a_pinned_component_that_does_not_exist_is_named_with_the_ones_that_do(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        p=(
            "name: p\nsummary: s\nroles: [operator]\ndestructive: true\n"
            "target: {service: email-dashboard, component: websockets}\nsteps: [{action: kubernetes.rollout_restart}]\n"
        ),
    )
    assert "target.component" in problems[0] and "websocket" in problems[0]


def test_a_label_selected_component_cannot_be_restarted_but_its_logs_can_be_read(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        restart_auth=(
            "name: restart-auth\nsummary: s\nroles: [operator]\ndestructive: true\n"
            "target: {service: email-dashboard, component: auth}\nsteps: [{action: kubernetes.rollout_restart}]\n"
        ),
        auth_logs=(
            "name: auth-logs\nsummary: s\nroles: [viewer]\n"
            "target: {service: email-dashboard, component: auth}\nsteps: [{action: kubernetes.logs}]\n"
        ),
    )
    assert len(problems) == 1
    assert "restart_auth.yml: target: email-dashboard component auth has no kubernetes.deployment" in problems[0]


def test_a_listed_service_the_steps_cannot_run_on_fails_the_check(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        restart=(
            "name: restart\nsummary: s\nroles: [operator]\ndestructive: true\n"
            "params: [{name: service, type: service, services: [backend, worker]}]\n"
            "steps: [{action: kubernetes.rollout_restart}]\n"
        ),
    )
    assert len(problems) == 1
    assert "restart.yml: params.service.services.1: `worker` has no kubernetes" in problems[0]


def test_a_parameter_whose_type_does_not_fit_the_argument_fails_the_check(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        set_env=(
            "name: set-env\nsummary: s\nroles: [operator]\ndestructive: true\n"
            "params: [{name: service, type: service}, {name: value, type: int}]\n"
            "steps: [{action: kubernetes.set_env, args: {name: FOO, value: $value}}]\n"
        ),
        scale=(
            "name: scale\nsummary: s\nroles: [operator]\ndestructive: true\n"
            "params: [{name: service, type: service}, {name: n, type: int, required: false}]\n"
            "steps: [{action: kubernetes.scale, args: {replicas: $n}}]\n"
        ),
    )
    assert any("set_env.yml: steps.0.args: value" in p and "does not fit" in p for p in problems)
    assert any("scale.yml: steps.0.args: replicas" in p and "does not fit" in p for p in problems)


def test_check_config_rejects_a_procedure_whose_action_cannot_run_on_the_services_it_allows(tmp_path: Path) -> None:
    commands = tmp_path / "commands"
    commands.mkdir()
    (commands / "logs.yml").write_text(
        "name: logs\nsummary: s\nroles: [viewer]\n"
        "params: [{name: service, type: service, services: [newsletter-app]}]\n"
        "steps: [{action: kubernetes.logs}]\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check-config"],
        env={"RUNBOOK_COMMANDS_DIR": str(commands), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "logs.yml: params.service.services.0: `newsletter-app` has no kubernetes" in result.stderr


def test_a_service_parameter_accepts_exactly_the_services_the_steps_can_run_on() -> None:
    catalog, _, procedures = configuration()
    restart, compose_restart = procedures["restart"], procedures["compose-restart"]
    for procedure, wanted, unwanted in ((restart, "backend", "worker"), (compose_restart, "worker", "backend")):
        param = procedure.service_param  # type: ignore[attr-defined]
        assert isinstance(param, ServiceParam) and param.services is not None
        assert wanted in param.services and unwanted not in param.services
    with pytest.raises(errors.UserError, match="It works on"):
        parser.parse("restart newsletter-app", procedures, catalog)  # type: ignore[arg-type]


def test_a_pinned_procedure_runs_on_its_component_and_locks_that_deployment() -> None:
    catalog, registry, procedures = configuration()
    parsed = parser.parse("restart-websocket", procedures, catalog)  # type: ignore[arg-type]
    assert parsed.service == "email-dashboard"
    name = lock_name(catalog, parsed.service, parsed.procedure, registry)  # type: ignore[arg-type]
    assert name == "kubernetes:default/production/deployment/websocket-service"


def test_locks_name_the_target_so_two_services_on_one_deployment_share_one(tmp_path: Path) -> None:
    text = CATALOG.read_text().replace(
        "  frontend:\n",
        "  backend-alias:\n    kubernetes: {namespace: mail-score-production, deployment: mail-score-backend}\n"
        "  frontend:\n",
    )
    (tmp_path / "chatops.yml").write_text(text)
    catalog, registry, procedures = configuration(catalog=tmp_path / "chatops.yml")
    scale = procedures["scale"]
    names = {lock_name(catalog, s, scale, registry) for s in ("backend", "backend-alias")}  # type: ignore[arg-type]
    assert names == {"kubernetes:default/mail-score-production/deployment/mail-score-backend"}
    compose = lock_name(catalog, "worker", procedures["compose-scale"], registry)  # type: ignore[arg-type]
    assert compose == "compose:default/newsletter/worker"


def test_the_old_flat_deployment_keys_still_load_but_not_beside_a_kubernetes_block(tmp_path: Path) -> None:
    base = (
        "channels: {ops: C0OPS, incidents: C0I, health: C0H, alerts: C0A}\n"
        "roles: {viewer: {}, operator: {}, approver: {}}\n"
    )
    flat = tmp_path / "flat.yml"
    flat.write_text(base + "services:\n  web: {namespace: prod, deployment: web, hpa: web-hpa}\n")
    service = load_catalog(flat).service("web")
    assert service.kubernetes is not None and service.kubernetes.hpa == "web-hpa"
    both = tmp_path / "both.yml"
    both.write_text(base + "services:\n  web: {namespace: prod, kubernetes: {namespace: prod, deployment: web}}\n")
    with pytest.raises(errors.ConfigError, match="not both"):
        load_catalog(both)


def test_a_compose_target_on_an_unknown_docker_host_is_a_catalog_error(tmp_path: Path) -> None:
    path = tmp_path / "chatops.yml"
    path.write_text(
        "channels: {ops: C0OPS, incidents: C0I, health: C0H, alerts: C0A}\n"
        "roles: {viewer: {}, operator: {}, approver: {}}\n"
        "services:\n  worker: {compose: {host: edge, project: newsletter, service: worker}}\n"
    )
    with pytest.raises(errors.ConfigError) as caught:
        load_catalog(path)
    assert (
        "services.worker.compose.host: `edge` is not under `docker_hosts` (default); add it" in caught.value.problems[0]
    )
