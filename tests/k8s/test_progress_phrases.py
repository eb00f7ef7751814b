"""A running step's progress line is a phrase of the book with data fields (the deployment, counts), never
a sentence built in Python; the packaged words stay kubectl's own."""

from __future__ import annotations

from typing import Any

import pytest

from bot import errors
from bot.actions.registry import ActionContext
from bot.catalog import Catalog
from bot.catalog_targets import KubernetesTarget
from bot.k8s import Kube, rollouts
from tests.k8s.test_actions import ctx, registry

WAITING = 'Waiting for deployment "web" rollout to finish: '


def _deployment(*, generation: int = 2, observed: int = 2, **status: int) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "generation": generation},
        "spec": {"replicas": 3},
        "status": {"observedGeneration": observed, **status},
    }


@pytest.mark.parametrize(
    ("deployment", "said", "words", "done"),
    [
        (
            _deployment(generation=3, observed=2),
            errors.Said("k8s_rollout_observing"),
            "Waiting for deployment spec update to be observed...",
            False,
        ),
        (
            _deployment(updatedReplicas=1, replicas=3),
            errors.Said("k8s_rollout_updating", deployment="web", updated=1, desired=3),
            WAITING + "1 out of 3 new replicas have been updated...",
            False,
        ),
        (
            _deployment(updatedReplicas=3, replicas=5),
            errors.Said("k8s_rollout_terminating", deployment="web", old=2),
            WAITING + "2 old replicas are pending termination...",
            False,
        ),
        (
            _deployment(updatedReplicas=3, replicas=3, availableReplicas=2),
            errors.Said("k8s_rollout_available", deployment="web", available=2, updated=3),
            WAITING + "2 of 3 updated replicas are available...",
            False,
        ),
        (
            _deployment(updatedReplicas=3, replicas=3, availableReplicas=3),
            errors.Said("k8s_rolled_out", deployment="web"),
            'deployment "web" successfully rolled out',
            True,
        ),
    ],
)
def test_each_rollout_status_line_is_a_phrase_with_the_name_and_counts_as_fields_in_kubectls_words(
    deployment: dict[str, Any], said: errors.Said, words: str, done: bool
) -> None:
    line, finished = rollouts.status_message(deployment)

    assert (line, finished) == (said, done)
    assert all(isinstance(value, str | int) for value in line.fields.values())  # data, never words
    assert errors.plain(line) == words


async def test_rollout_status_reports_phrases_and_ends_with_the_one_its_result_says(
    kube: Kube, catalog: Catalog
) -> None:
    reg, dashboard = registry(kube), catalog.service("email-dashboard")
    seen: list[errors.Said] = []

    async def report(line: errors.Said) -> None:
        seen.append(line)

    await reg.get("kubernetes.scale").run(ctx(dashboard), reg.validate_params("kubernetes.scale", {"replicas": 4}))
    context = ActionContext("svc", dashboard, timeout_seconds=10, report_progress=report)
    result = await reg.get("kubernetes.rollout_status").run(
        context, reg.validate_params("kubernetes.rollout_status", {})
    )

    assert {line.key for line in seen} <= {
        "k8s_rollout_observing",
        "k8s_rollout_updating",
        "k8s_rollout_terminating",
        "k8s_rollout_available",
        "k8s_rolled_out",
    }
    assert seen[-1] == errors.Said("k8s_rolled_out", deployment="email-dashboard")
    assert result.summary == errors.Said("k8s_rollout_status", message=seen[-1])  # a phrase said inside another
    assert result.summary_text == 'deployment "email-dashboard" successfully rolled out'  # stored as said


async def test_pods_coming_back_after_a_delete_are_reported_as_phrases_with_counts(
    kube: Kube, catalog: Catalog
) -> None:
    reg = registry(kube)
    seen: list[errors.Said] = []

    async def report(line: errors.Said) -> None:
        seen.append(line)

    dashboard = catalog.service("email-dashboard")
    context = ActionContext("email-dashboard", dashboard, timeout_seconds=30, report_progress=report)
    result = await reg.get("kubernetes.delete_pods").run(context, reg.validate_params("kubernetes.delete_pods", {}))

    deleted = len(result.data["pods"])
    assert seen and {line.key for line in seen} <= {"k8s_pods_going", "k8s_pods_replaced"}
    assert all(isinstance(v, int) for line in seen for v in line.fields.values())
    last = seen[-1]
    assert last.key == "k8s_pods_replaced" and last.fields["ready"] >= last.fields["wanted"]  # type: ignore[operator]
    assert result.summary == errors.Said("k8s_pods_deleted", dry_run=False, pods=deleted, back=last)
    wanted = last.fields["wanted"]
    assert result.summary_text == f"Deleted {deleted} pods (the deployment recreates them); {wanted} of {wanted} " + (
        "replacement pods ready"
    )


async def test_a_value_change_names_the_resource_as_kubectl_does_and_the_rest_as_a_phrase(
    kube: Kube, dashboard: KubernetesTarget
) -> None:
    change = await kube.set_env(dashboard, "FOO", "1", dry_run=True)

    assert change.target.key == "k8s_env_target"
    assert change.target.fields["resource"] == "deployment/email-dashboard"  # kubectl's TYPE/NAME: a name
    container = change.target.fields["container"]
    assert errors.plain(change.target) == f"deployment/email-dashboard container {container} env FOO"
