"""What the adapter does to a (sandbox) cluster: pods move, revisions appear, refusals are clear."""

from __future__ import annotations

import pytest

from bot import errors
from bot.catalog_targets import KubernetesTarget
from bot.k8s import Kube
from sandbox.cluster import SandboxCluster

NS = "production"


def running(cluster: SandboxCluster, ns: str = NS) -> int:
    return sum(1 for p in cluster.pods(ns) if p["status"]["phase"] == "Running")


async def test_scale_moves_pods_to_the_new_count(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget
) -> None:
    result = await kube.scale(dashboard, 5)
    assert (result.before, result.after) == (3, 5)
    await kube.rollout_status(dashboard, deadline=5)
    assert running(cluster) == 5


async def test_dry_run_scale_previews_from_the_server_and_changes_nothing(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget
) -> None:
    before = cluster.deployment(NS, "email-dashboard")
    result = await kube.scale(dashboard, 7, dry_run=True)
    assert (result.before, result.after) == (3, 7)
    assert cluster.deployment(NS, "email-dashboard")["spec"] == before["spec"]
    assert cluster.requests_to("/scale", "PATCH")[0].query == {"dryRun": "All"}


async def test_every_dry_run_mutation_leaves_the_cluster_unchanged(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget, backend: KubernetesTarget
) -> None:
    snapshot = (cluster.deployment(NS, "email-dashboard"), len(cluster.pods(NS)))
    await kube.rollout_restart(dashboard, dry_run=True)
    await kube.set_env(dashboard, "FOO", "1", dry_run=True)
    await kube.maintenance(dashboard, True, dry_run=True)
    deleted = await kube.delete_pods(dashboard, dry_run=True)
    await kube.maintenance(backend, True, dry_run=True)
    await kube.hpa_set(backend, min_replicas=3, max_replicas=9, dry_run=True)
    assert len(deleted.names) == 3
    assert (cluster.deployment(NS, "email-dashboard"), len(cluster.pods(NS))) == snapshot
    assert cluster.configmap("mail-score-production", "frontend-config")["data"]["MAINTENANCE_MODE"] == "false"
    assert cluster.hpa("mail-score-production", "backend-hpa")["spec"]["maxReplicas"] == 20


async def test_restart_makes_a_new_revision_and_rollout_status_reports_progress_then_success(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget
) -> None:
    messages: list[str] = []

    async def progress(message: errors.Said) -> None:
        messages.append(errors.plain(message))

    await kube.rollout_restart(dashboard)
    done = await kube.rollout_status(dashboard, deadline=10, on_progress=progress)
    assert done.message == errors.Said("k8s_rolled_out", deployment="email-dashboard")
    assert errors.plain(done.message) == 'deployment "email-dashboard" successfully rolled out'
    assert done.revision == 2
    assert any("new replicas have been updated" in m for m in messages)
    assert messages[-1] == errors.plain(done.message)
    assert len(messages) == len(set(messages))  # reported only when the message changes


async def test_undo_returns_to_the_previous_template_without_the_hash_label(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget
) -> None:
    original = cluster.deployment(NS, "email-dashboard")["spec"]["template"]
    await kube.set_env(dashboard, "FOO", "1")
    await kube.rollout_status(dashboard, deadline=10)
    result = await kube.rollout_undo(dashboard)
    assert (result.from_revision, result.to_revision, result.no_op) == (2, 1, False)
    template = cluster.deployment(NS, "email-dashboard")["spec"]["template"]
    assert template == original
    assert "pod-template-hash" not in template["metadata"]["labels"]
    await kube.rollout_status(dashboard, deadline=10)
    assert [r.number for r in await kube.rollout_history(dashboard)] == [2, 3]


async def test_undo_to_the_current_revision_is_a_clear_no_op(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget
) -> None:
    await kube.rollout_restart(dashboard)
    await kube.rollout_status(dashboard, deadline=10)
    cluster.clear()
    result = await kube.rollout_undo(dashboard, to_revision=2)
    assert result.no_op
    assert not cluster.requests_to("/deployments/", "PATCH")


async def test_undo_without_history_says_there_is_no_previous_revision(kube: Kube, dashboard: KubernetesTarget) -> None:
    with pytest.raises(errors.UserError, match="no rollout history"):
        await kube.rollout_undo(dashboard)


async def test_paused_deployment_is_refused_for_restart_and_undo(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget
) -> None:
    cluster.set_paused(NS, "email-dashboard", True)
    with pytest.raises(errors.TargetError, match="paused"):
        await kube.rollout_restart(dashboard)
    with pytest.raises(errors.TargetError, match="paused"):
        await kube.rollout_undo(dashboard)


async def test_progress_deadline_exceeded_fails_rollout_status(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget
) -> None:
    cluster.stall_rollouts(NS, "email-dashboard")
    await kube.rollout_restart(dashboard)
    with pytest.raises(errors.TargetError, match="exceeded its progress deadline"):
        await kube.rollout_status(dashboard, deadline=5)


async def test_maintenance_follows_the_catalog_model(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget, backend: KubernetesTarget
) -> None:
    env = await kube.maintenance(dashboard, True)
    cm = await kube.maintenance(backend, True)
    assert (env.before, env.after, cm.before, cm.after) == ("false", "true", "false", "true")
    container = cluster.deployment(NS, "email-dashboard")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "MAINTENANCE_MODE", "value": "true"} in container["env"]
    assert cluster.configmap("mail-score-production", "frontend-config")["data"]["MAINTENANCE_MODE"] == "true"
    assert (await kube.maintenance(backend, True)).no_op


async def test_logs_top_and_pods_read_the_deployments_pods(kube: Kube, dashboard: KubernetesTarget) -> None:
    logs = await kube.logs(dashboard, lines=9)
    assert len(logs.pods) == 3
    assert len(logs.lines) == 9 and {line.pod for line in logs.lines} == set(logs.pods)
    assert len(await kube.top(dashboard)) == 3
    assert all(p.ready == p.total == 1 for p in await kube.pods(dashboard))


async def test_top_without_metrics_server_says_so(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget
) -> None:
    cluster.set_metrics_enabled(False)
    with pytest.raises(errors.TargetError, match="metrics-server is not installed in this cluster"):
        await kube.top(dashboard)
