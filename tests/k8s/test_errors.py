"""API failures become one clear line each (403, 404, 409, timeouts, 5xx), via the sandbox's faults."""

from __future__ import annotations

import pytest

from bot import errors
from bot.catalog_targets import KubernetesTarget
from bot.k8s import Kube
from sandbox.cluster import SandboxCluster


async def test_forbidden_names_the_verb_resource_and_namespace(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget
) -> None:
    cluster.inject_fault("/email-dashboard/scale", status=403)
    with pytest.raises(errors.TargetError) as caught:
        await kube.scale(dashboard, 4)
    assert str(caught.value) == "the bot's service account may not patch deployments/scale in production"


async def test_missing_deployment_says_which_one_and_where(kube: Kube, dashboard: KubernetesTarget) -> None:
    ghost = dashboard.model_copy(update={"deployment": "ghost"})
    with pytest.raises(errors.NotFoundError, match=r"^no deployment ghost in production$"):
        await kube.deployment_status(ghost)


async def test_conflict_is_retried_and_then_succeeds(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget
) -> None:
    cluster.inject_fault("/email-dashboard/scale", status=409, times=2)
    assert (await kube.scale(dashboard, 4)).after == 4
    assert len(cluster.requests_to("/email-dashboard/scale", "PATCH")) == 3


async def test_persistent_conflict_is_reported_after_the_retries(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget
) -> None:
    cluster.inject_fault("/email-dashboard/scale", status=409, times=10)
    with pytest.raises(errors.TargetError, match="kept changing"):
        await kube.scale(dashboard, 4)


async def test_a_slow_api_server_is_unavailable_after_the_timeout(
    cluster: SandboxCluster, kubeconfig: object, dashboard: KubernetesTarget
) -> None:
    from pathlib import Path

    kube = Kube(kubeconfig=Path(str(kubeconfig)), timeout=0.3)
    cluster.inject_fault("/deployments/email-dashboard", delay=1.0)
    try:
        with pytest.raises(errors.UnavailableError, match=r"get deployments in production timed out after 0.3s"):
            await kube.deployment_status(dashboard)
    finally:
        kube.close()


async def test_server_errors_are_reported_as_unavailable(
    cluster: SandboxCluster, kube: Kube, dashboard: KubernetesTarget
) -> None:
    cluster.inject_fault("/deployments/email-dashboard", status=503)
    with pytest.raises(errors.UnavailableError, match="answered 503 to get deployments in production"):
        await kube.deployment_status(dashboard)
