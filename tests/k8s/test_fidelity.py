"""Golden traces: the bot's mutating requests equal the ones the real kubectl sends for the same command.

Both run against the same sandbox, whose request log records method, path, query,
content type and body. Where kubectl is absent, the recorded golden values below
(captured from kubectl v1.32 against this sandbox) are the reference.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot import errors
from bot.catalog_targets import KubernetesTarget
from bot.k8s import Kube
from sandbox.cluster import RecordedRequest, SandboxCluster

DEPLOY = "/apis/apps/v1/namespaces/production/deployments/email-dashboard"
GOLDEN: dict[str, tuple[str, str, dict[str, str], str, Any]] = {
    "scale": (
        "PATCH",
        DEPLOY + "/scale",
        {},
        "application/merge-patch+json",
        {"spec": {"replicas": 5}},
    ),
    "restart": (
        "PATCH",
        DEPLOY,
        {"fieldManager": "kubectl-rollout"},
        "application/strategic-merge-patch+json",
        {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "<now>"}}}}},
    ),
    "set_env": (
        "PATCH",
        DEPLOY,
        {"fieldManager": "kubectl-set"},
        "application/strategic-merge-patch+json",
        {
            "spec": {
                "template": {
                    "spec": {
                        "$setElementOrder/containers": [{"name": "email-dashboard"}],
                        "containers": [
                            {
                                "$setElementOrder/env": [{"name": "MAINTENANCE_MODE"}],
                                "env": [{"name": "MAINTENANCE_MODE", "value": "true"}],
                                "name": "email-dashboard",
                            }
                        ],
                    }
                }
            }
        },
    ),
}


def normalize(body: Any) -> Any:
    """Drop what only Go's encoder adds (null creationTimestamp) and the clock (restartedAt)."""
    if isinstance(body, dict):
        out = {k: normalize(v) for k, v in body.items() if v is not None}
        if "kubectl.kubernetes.io/restartedAt" in out:
            out["kubectl.kubernetes.io/restartedAt"] = "<now>"
        return out
    if isinstance(body, list):
        return [normalize(v) for v in body]
    return body


def last_mutation(cluster: SandboxCluster) -> tuple[str, str, dict[str, str], str | None, Any]:
    r: RecordedRequest = [r for r in cluster.requests if r.method in ("PATCH", "DELETE")][-1]
    return (r.method, r.path, r.query, r.content_type, normalize(r.body))


async def bot_trace(cluster: SandboxCluster, call: Any) -> tuple[str, str, dict[str, str], str | None, Any]:
    cluster.clear()
    await call
    return last_mutation(cluster)


async def kubectl_trace(cluster: SandboxCluster, kubectl: Any, *args: str) -> tuple[Any, ...]:
    cluster.clear()
    done = await asyncio.to_thread(kubectl, *args)
    assert done.returncode == 0, done.stderr
    return last_mutation(cluster)


async def test_scale_sends_the_golden_merge_patch_on_the_scale_subresource(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget
) -> None:
    assert await bot_trace(cluster, kube.scale(dashboard, 5)) == GOLDEN["scale"]


async def test_restart_sends_the_golden_strategic_merge_patch(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget
) -> None:
    assert await bot_trace(cluster, kube.rollout_restart(dashboard)) == GOLDEN["restart"]


async def test_set_env_sends_the_golden_two_way_merge_patch(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget
) -> None:
    assert await bot_trace(cluster, kube.set_env(dashboard, "MAINTENANCE_MODE", "true")) == GOLDEN["set_env"]


@pytest.mark.kubectl
async def test_scale_request_equals_kubectl_scale(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget, kubectl: Any
) -> None:
    theirs = await kubectl_trace(
        cluster, kubectl, "scale", "deployment", "email-dashboard", "--replicas=5", "-n", "production"
    )
    await kube.scale(dashboard, 3)
    ours = await bot_trace(cluster, kube.scale(dashboard, 5))
    assert ours == theirs == GOLDEN["scale"]


@pytest.mark.kubectl
async def test_restart_request_equals_kubectl_rollout_restart(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget, kubectl: Any
) -> None:
    theirs = await kubectl_trace(
        cluster, kubectl, "rollout", "restart", "deployment/email-dashboard", "-n", "production"
    )
    assert await bot_trace(cluster, kube.rollout_restart(dashboard)) == theirs


@pytest.mark.kubectl
async def test_set_env_and_unset_requests_equal_kubectl_set_env(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget, kubectl: Any
) -> None:
    env = ["set", "env", "deployment/email-dashboard", "-n", "production"]
    theirs_set = await kubectl_trace(cluster, kubectl, *env, "FOO=1")
    theirs_unset = await kubectl_trace(cluster, kubectl, *env, "FOO-")
    assert await bot_trace(cluster, kube.set_env(dashboard, "FOO", "1")) == theirs_set
    assert await bot_trace(cluster, kube.set_env(dashboard, "FOO", None)) == theirs_unset


@pytest.mark.kubectl
async def test_undo_request_equals_kubectl_rollout_undo(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget, kubectl: Any
) -> None:
    await kube.set_env(dashboard, "FOO", "1")
    await cluster.wait_until(lambda: len(cluster.replicasets("production")) == 2)
    await kube.rollout_status(dashboard, deadline=10)
    # Dry runs leave the deployment where it is, so both see the same starting point.
    theirs = await kubectl_trace(
        cluster,
        kubectl,
        "rollout",
        "undo",
        "deployment/email-dashboard",
        "-n",
        "production",
        "--dry-run=server",
    )
    ours = await bot_trace(cluster, kube.rollout_undo(dashboard, dry_run=True))
    assert ours == theirs
    assert theirs[2] == {"dryRun": "All"}
    assert theirs[3] == "application/json-patch+json"


@pytest.mark.kubectl
async def test_bot_results_agree_with_kubectl_get_and_rollout_status(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget, kubectl: Any
) -> None:
    await kube.scale(dashboard, 4)
    status = await asyncio.to_thread(
        kubectl, "rollout", "status", "deployment/email-dashboard", "-n", "production", "--timeout=20s"
    )
    assert status.returncode == 0, status.stderr
    ours = await kube.rollout_status(dashboard, deadline=5)
    assert status.stdout.strip().splitlines()[-1] == errors.plain(ours.message)
    table = await asyncio.to_thread(kubectl, "get", "deploy", "email-dashboard", "-n", "production")
    assert "email-dashboard   4/4" in table.stdout
    assert (await kube.deployment_status(dashboard)).ready == 4


@pytest.mark.kubectl
async def test_hpa_patch_equals_kubectl_patch_hpa(
    cluster: SandboxCluster, kube: Kube, backend: KubernetesTarget, kubectl: Any
) -> None:
    # Runbook 001: kubectl patch hpa backend-hpa -n mail-score-production -p '{"spec":{"maxReplicas":15}}'
    patch = '{"spec":{"minReplicas":2,"maxReplicas":15}}'
    theirs = await kubectl_trace(cluster, kubectl, "patch", "hpa", "backend-hpa", "-n", backend.namespace, "-p", patch)
    ours = await bot_trace(cluster, kube.hpa_set(backend, min_replicas=2, max_replicas=15))
    assert ours == theirs


@pytest.mark.kubectl
async def test_configmap_patch_equals_kubectl_merge_patch(
    cluster: SandboxCluster, kube: Kube, backend: KubernetesTarget, kubectl: Any
) -> None:
    # Runbook 001: kubectl patch configmap frontend-config -p '{"data":{"MAINTENANCE_MODE":"true"}}'
    theirs = await kubectl_trace(
        cluster,
        kubectl,
        "patch",
        "configmap",
        "frontend-config",
        "-n",
        backend.namespace,
        "--type",
        "merge",
        "-p",
        '{"data":{"MAINTENANCE_MODE":"true"}}',
    )
    await kube.configmap_set(backend, "frontend-config", "MAINTENANCE_MODE", "false")
    ours = await bot_trace(cluster, kube.configmap_set(backend, "frontend-config", "MAINTENANCE_MODE", "true"))
    assert ours[:4] == theirs[:4]
    assert ours[4] == theirs[4] == {"data": {"MAINTENANCE_MODE": "true"}}


@pytest.mark.kubectl
async def test_delete_pods_sends_what_kubectl_delete_pods_sends(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget, kubectl: Any
) -> None:
    # Runbook 000: kubectl delete pods -n production -l app=email-dashboard (dry run: nothing changes)
    pods = sorted(p["metadata"]["name"] for p in cluster.pods("production"))
    selector = ",".join(
        f"{k}={v}" for k, v in cluster.pods("production")[0]["metadata"]["labels"].items() if k != "pod-template-hash"
    )
    cluster.clear()
    done = await asyncio.to_thread(kubectl, "delete", "pods", "-n", "production", "-l", selector, "--dry-run=server")
    assert done.returncode == 0, done.stderr
    theirs = sorted((r.method, r.path, r.query.get("dryRun")) for r in cluster.requests if r.method == "DELETE")
    theirs_body = normalize(next(r.body for r in cluster.requests if r.method == "DELETE"))
    cluster.clear()
    await kube.delete_pods(dashboard, dry_run=True)
    ours = sorted((r.method, r.path, r.query.get("dryRun")) for r in cluster.requests if r.method == "DELETE")
    ours_body = normalize(next(r.body for r in cluster.requests if r.method == "DELETE"))
    assert [path.rsplit("/", 1)[-1] for _, path, _ in ours] == pods
    assert [(m, p) for m, p, _ in ours] == [(m, p) for m, p, _ in theirs]
    assert ours_body.get("propagationPolicy") == theirs_body.get("propagationPolicy") == "Background"
    assert ours_body.get("dryRun") == theirs_body.get("dryRun") == ["All"]
