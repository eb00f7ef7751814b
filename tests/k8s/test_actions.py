"""The kubernetes.* actions: names, params models, previews from the server's dry run, plain results."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot import errors
from bot.actions.kubernetes import kubernetes_actions
from bot.actions.kubernetes_triage import triage_actions
from bot.actions.registry import ActionContext, ActionRegistry
from bot.catalog import Catalog, Service
from bot.k8s import Kube
from bot.values import ValueMask
from sandbox.cluster import SandboxCluster

MUTATING = {"scale", "rollout_restart", "rollout_undo", "set_env", "hpa_set", "configmap_set", "delete_pods"}
MUTATING |= {"maintenance", "set_image"}
READ_ONLY = {"status", "pods", "logs", "top", "history", "rollout_status"}
READ_ONLY |= {"events", "describe", "nodes", "hpa", "endpoints", "rollout_state"}


@pytest.fixture
def dashboard(catalog: Catalog) -> Service:
    """Actions take the catalog service and pick its Kubernetes target themselves."""
    return catalog.service("email-dashboard")


@pytest.fixture
def backend(catalog: Catalog) -> Service:
    return catalog.service("backend")


def registry(kube: Kube) -> ActionRegistry:
    return ActionRegistry([*kubernetes_actions(kube, ValueMask.of([], b"test key")), *triage_actions(kube)])


def ctx(service: Service | None, dry_run: bool = False) -> ActionContext:
    return ActionContext(service_name="svc", service=service, dry_run=dry_run, timeout_seconds=10)


async def test_every_action_is_registered_with_the_right_mutating_flag(kube: Kube) -> None:
    reg = registry(kube)
    assert set(reg.names()) == {f"kubernetes.{n}" for n in MUTATING | READ_ONLY}
    assert {n for n in reg.names() if reg.get(n).mutating} == {f"kubernetes.{n}" for n in MUTATING}


async def test_unknown_or_bad_arguments_fail_validation(kube: Kube) -> None:
    reg = registry(kube)
    with pytest.raises(ValidationError):
        reg.validate_params("kubernetes.scale", {"replicas": 3, "replica": 4})
    with pytest.raises(ValidationError):
        reg.validate_params("kubernetes.scale", {"replicas": -1})


async def test_an_action_without_a_service_is_a_user_error(kube: Kube) -> None:
    action = registry(kube).get("kubernetes.status")
    with pytest.raises(errors.UserError, match="has no Kubernetes target"):
        await action.run(ctx(None), action.params_model())


async def test_scale_preview_comes_from_the_dry_run_and_changes_nothing(
    cluster: SandboxCluster, kube: Kube, dashboard: Service
) -> None:
    reg = registry(kube)
    result = await reg.get("kubernetes.scale").run(
        ctx(dashboard, True), reg.validate_params("kubernetes.scale", {"replicas": 5})
    )
    assert result.data == {"replicas_before": 3, "replicas_after": 5}
    assert [(c.what, c.before, c.after) for c in result.changes] == [("replicas", "3", "5")]
    assert errors.plain(result.summary).startswith("Dry run: would scale")
    assert cluster.deployment("production", "email-dashboard")["spec"]["replicas"] == 3


async def test_scale_outside_the_catalog_limits_is_refused(kube: Kube, dashboard: Service) -> None:
    reg = registry(kube)
    with pytest.raises(errors.UserError, match="2–10 replicas"):
        await reg.get("kubernetes.scale").run(ctx(dashboard), reg.validate_params("kubernetes.scale", {"replicas": 11}))


async def test_rollout_status_reports_progress_through_the_context(kube: Kube, dashboard: Service) -> None:
    reg = registry(kube)
    seen: list[errors.Said] = []

    async def report(message: errors.Said) -> None:
        seen.append(message)

    await reg.get("kubernetes.rollout_restart").run(
        ctx(dashboard), reg.validate_params("kubernetes.rollout_restart", {})
    )
    context = ActionContext("svc", dashboard, timeout_seconds=10, report_progress=report)
    result = await reg.get("kubernetes.rollout_status").run(
        context, reg.validate_params("kubernetes.rollout_status", {})
    )
    assert errors.plain(result.summary) == 'deployment "email-dashboard" successfully rolled out'
    assert len(seen) > 1


async def test_logs_longer_than_a_message_show_the_newest_and_attach_the_whole(kube: Kube, dashboard: Service) -> None:
    reg = registry(kube)
    result = await reg.get("kubernetes.logs").run(
        ctx(dashboard), reg.validate_params("kubernetes.logs", {"lines": 500})
    )
    assert result.details is not None and len(result.files) == 1
    assert len(result.details) <= 2500
    assert "more lines in the attached file logs.txt" in result.details
    content = result.files[0].content
    assert isinstance(content, str)
    whole = content.splitlines()
    assert len(whole) == 500 == result.data["lines"]
    assert result.details.splitlines()[-1] == whole[-1]  # the newest line is in the message


async def test_maintenance_on_an_already_on_service_is_a_no_op(
    kube: Kube, backend: Service, cluster: SandboxCluster
) -> None:
    reg = registry(kube)
    on = reg.validate_params("kubernetes.maintenance", {"enabled": True})
    first = await reg.get("kubernetes.maintenance").run(ctx(backend), on)
    assert not first.no_op
    writes = [r for r in cluster.requests if r.method != "GET"]

    again = await reg.get("kubernetes.maintenance").run(ctx(backend), on)

    assert again.no_op
    assert [r for r in cluster.requests if r.method != "GET"] == writes  # nothing written the second time
    assert cluster.configmap("mail-score-production", "frontend-config")["data"]["MAINTENANCE_MODE"] == "true"


def test_pod_ages_read_like_kubectls() -> None:
    from bot.actions.kubernetes import age

    assert [age(s) for s in (0, 45, 60, 3599, 3600, 86399, 86400 * 3)] == ["0s", "45s", "1m", "59m", "1h", "23h", "3d"]
