"""Components: a label-selected one is read by its selector, a deployment one acts like a service's."""

from __future__ import annotations

from bot.catalog import Catalog
from bot.catalog_targets import KubernetesTarget
from bot.k8s import Kube
from sandbox.cluster import SandboxCluster


def component(catalog: Catalog, name: str) -> KubernetesTarget:
    target = catalog.service("email-dashboard").target("kubernetes", name)
    assert isinstance(target, KubernetesTarget)
    return target


async def test_pods_and_logs_of_a_label_selected_component_are_its_pods(
    cluster: SandboxCluster, kube: Kube, catalog: Catalog
) -> None:
    cluster.seed_components(catalog)
    auth = component(catalog, "auth")
    labelled = sorted(
        p["metadata"]["name"] for p in cluster.pods("production") if p["metadata"]["labels"].get("component") == "auth"
    )
    assert labelled, "the sandbox seeds pods for the component's selector"
    assert sorted(p.name for p in await kube.pods(auth)) == labelled
    logs = await kube.logs(auth, lines=3)
    assert sorted(logs.pods) == labelled


async def test_a_deployment_component_scales_its_own_deployment(
    cluster: SandboxCluster, kube: Kube, catalog: Catalog
) -> None:
    cluster.seed_components(catalog)
    websocket = component(catalog, "websocket")
    result = await kube.scale(websocket, 4)
    assert result.after == 4
    assert cluster.deployment("production", "websocket-service")["spec"]["replicas"] == 4
    assert cluster.deployment("production", "email-dashboard")["spec"]["replicas"] == 3
