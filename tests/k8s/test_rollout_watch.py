"""`rollout status` watches the deployment as kubectl does, instead of polling it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot import errors
from bot.catalog import Catalog, Service
from bot.k8s import Kube
from sandbox.cluster import RecordedRequest, SandboxCluster

NS = "production"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"


def deployment_requests(cluster: SandboxCluster) -> list[RecordedRequest]:
    """Requests about deployments (kubectl's discovery requests aside)."""
    return [r for r in cluster.requests if r.path.startswith(DEPLOYMENTS)]


async def test_rollout_status_lists_once_then_watches_and_reports_each_message(
    cluster: SandboxCluster, kube: Kube, dashboard: Service
) -> None:
    await kube.scale(dashboard, 5)
    cluster.clear()
    messages: list[str] = []

    async def progress(message: errors.Said) -> None:
        messages.append(errors.plain(message))

    done = await kube.rollout_status(dashboard, deadline=10, on_progress=progress)

    assert errors.plain(done.message) == 'deployment "email-dashboard" successfully rolled out'
    assert messages[-1] == errors.plain(done.message)
    assert any("updated replicas are available" in m for m in messages)
    listed, watched = deployment_requests(cluster)
    assert (listed.method, listed.path, listed.query) == (
        "GET",
        DEPLOYMENTS,
        {"fieldSelector": "metadata.name=email-dashboard"},
    )
    assert watched.query["watch"] == "true"
    assert watched.query["fieldSelector"] == "metadata.name=email-dashboard"
    assert int(watched.query["resourceVersion"]) > 0
    assert len(cluster.pods(NS)) == 5


async def test_a_finished_rollout_needs_one_request(cluster: SandboxCluster, kube: Kube, dashboard: Service) -> None:
    cluster.clear()
    done = await kube.rollout_status(dashboard, deadline=5)
    assert errors.plain(done.message) == 'deployment "email-dashboard" successfully rolled out'
    assert len(deployment_requests(cluster)) == 1


async def test_deleting_the_deployment_mid_rollout_fails_the_wait(
    catalog: Catalog, dashboard: Service, tmp_path: Path
) -> None:
    slow = SandboxCluster(step_seconds=30)  # the rollout does not move while the test runs
    await slow.start()
    slow.seed_from_catalog(catalog)
    kube = Kube(
        kubeconfig=slow.write_kubeconfig(tmp_path / "kubeconfig", SandboxCluster.catalog_contexts(catalog)), timeout=2.0
    )
    try:
        await kube.scale(dashboard, 5)
        waiting = asyncio.create_task(kube.rollout_status(dashboard, deadline=20))
        await slow.wait_until(lambda: any(r.query.get("watch") == "true" for r in slow.requests))
        slow.store.delete("deployments", NS, "email-dashboard")
        with pytest.raises(errors.TargetError, match="was deleted"):
            await waiting
    finally:
        kube.close()
        await slow.stop()


async def test_a_rollout_still_running_at_the_deadline_is_reported_with_its_last_message(
    catalog: Catalog, dashboard: Service, tmp_path: Path
) -> None:
    slow = SandboxCluster(step_seconds=30)
    await slow.start()
    slow.seed_from_catalog(catalog)
    kube = Kube(
        kubeconfig=slow.write_kubeconfig(tmp_path / "kubeconfig", SandboxCluster.catalog_contexts(catalog)), timeout=2.0
    )
    try:
        await kube.scale(dashboard, 5)
        with pytest.raises(errors.TargetError, match=r"not finished after 1s: Waiting for deployment"):
            await kube.rollout_status(dashboard, deadline=1)
    finally:
        kube.close()
        await slow.stop()


@pytest.mark.kubectl
async def test_rollout_status_sends_no_more_requests_than_kubectl_rollout_status(
    cluster: SandboxCluster, kube: Kube, dashboard: Service, kubectl: Any
) -> None:
    await kube.scale(dashboard, 5)
    cluster.clear()
    status = await asyncio.to_thread(
        kubectl, "rollout", "status", "deployment/email-dashboard", "-n", NS, "--timeout=20s"
    )
    assert status.returncode == 0, status.stderr
    theirs = deployment_requests(cluster)
    await kube.scale(dashboard, 4)
    cluster.clear()
    ours_done = await kube.rollout_status(dashboard, deadline=10)
    ours = deployment_requests(cluster)
    assert errors.plain(ours_done.message) == status.stdout.strip().splitlines()[-1]
    assert any(r.query.get("watch") == "true" for r in theirs), "kubectl watches too"
    assert len(ours) <= len(theirs)
