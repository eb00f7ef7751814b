"""An action says its result with a phrase of the book and data fields, never a sentence built in Python."""

from __future__ import annotations

from bot import errors
from bot.actions.registry import ActionContext
from bot.catalog import Catalog
from bot.k8s import Kube
from tests.k8s.test_actions import registry


def _ctx(catalog: Catalog, service: str) -> ActionContext:
    return ActionContext(service, catalog.service(service), dry_run=True, timeout_seconds=10)


async def test_a_scale_preview_is_a_phrase_said_with_the_deployment_its_counts_and_its_hpa(
    kube: Kube, catalog: Catalog
) -> None:
    reg = registry(kube)

    result = await reg.get("kubernetes.scale").run(
        _ctx(catalog, "backend"), reg.validate_params("kubernetes.scale", {"replicas": 4})
    )

    before = result.data["replicas_before"]
    assert result.summary == errors.Said(
        "k8s_scaled", dry_run=True, deployment="mail-score-backend", before=before, after=4, hpa="backend-hpa"
    )
    assert errors.plain(result.summary) == (
        f"Dry run: would scale mail-score-backend from {before} to 4. Warning: HPA backend-hpa manages these "
        "replicas and will move them back within its bounds; change the bounds with `hpa-max` instead"
    )


async def test_each_pod_a_deletion_would_remove_is_named_by_a_phrase_with_the_pod_as_its_field(
    kube: Kube, catalog: Catalog
) -> None:
    reg = registry(kube)

    result = await reg.get("kubernetes.delete_pods").run(
        _ctx(catalog, "email-dashboard"), reg.validate_params("kubernetes.delete_pods", {})
    )

    pods = result.data["pods"]
    assert pods
    assert result.summary == errors.Said("k8s_pods_deleted", dry_run=True, pods=len(pods), back=None)
    assert [c.what for c in result.changes] == [errors.Said("k8s_pod", pod=name) for name in pods]
    assert [(c.before, c.after) for c in result.changes] == [("running", "deleted")] * len(pods)  # states: data
    assert [c.recorded()["what"] for c in result.changes] == [f"pod {name}" for name in pods]
