"""kubectl's deployment logic as pure functions over API JSON: rollout status, undo, set env.

Kept free of I/O so each rule can be tested against the object shapes alone, and so the
order of checks stays exactly kubectl's (polymorphichelpers/rollout_status.go, rollback.go,
set/set_env.go).
"""

from __future__ import annotations

import copy
from typing import Any

from bot import errors, values

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
HASH_LABEL = "pod-template-hash"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
# rollback.go annotationsToSkip: kept from the deployment, never copied from the ReplicaSet.
ANNOTATIONS_TO_SKIP = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION,
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    }
)


def revision_of(obj: dict[str, Any]) -> int:
    try:
        return int((obj.get("metadata", {}).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def images_of(template: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(c.get("image", "")) for c in template.get("spec", {}).get("containers", []))


def status_message(dep: dict[str, Any]) -> tuple[errors.Said, bool]:
    """kubectl's DeploymentStatusViewer: (its line, as a phrase of the book with the counts as fields,
    done); raises TargetError past the deadline."""
    name = dep["metadata"]["name"]
    spec, status = dep.get("spec", {}), dep.get("status", {})
    if int(dep["metadata"].get("generation", 0)) > int(status.get("observedGeneration", 0)):
        return errors.Said("k8s_rollout_observing"), False
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            raise errors.TargetError("progress_deadline", deployment=name)
    desired = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas", 0))
    replicas = int(status.get("replicas", 0))
    available = int(status.get("availableReplicas", 0))
    if updated < desired:
        return errors.Said("k8s_rollout_updating", deployment=name, updated=updated, desired=desired), False
    if replicas > updated:
        return errors.Said("k8s_rollout_terminating", deployment=name, old=replicas - updated), False
    if available < updated:
        return errors.Said("k8s_rollout_available", deployment=name, available=available, updated=updated), False
    return errors.Said("k8s_rolled_out", deployment=name), True


def selector_of(dep: dict[str, Any]) -> str:
    """The deployment's label selector as a query string (matchLabels and simple expressions)."""
    selector = dep["spec"].get("selector") or {}
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "Exists":
            terms.append(key)
        elif op == "DoesNotExist":
            terms.append(f"!{key}")
        else:
            terms.append(f"{key} {'in' if op == 'In' else 'notin'} ({','.join(values)})")
    return ",".join(terms)


def owned_replicasets(dep: dict[str, Any], replicasets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ReplicaSets whose controller ownerReference is this deployment, oldest revision first."""
    uid = dep["metadata"]["uid"]
    owned = [
        rs
        for rs in replicasets
        if any(ref.get("controller") and ref.get("uid") == uid for ref in rs["metadata"].get("ownerReferences") or [])
    ]
    return sorted(owned, key=revision_of)


def _without_hash(template: dict[str, Any]) -> dict[str, Any]:
    clean = copy.deepcopy(template)
    labels = clean.get("metadata", {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return clean


def choose_revision(dep: dict[str, Any], owned: list[dict[str, Any]], to_revision: int | None) -> dict[str, Any]:
    """rollback.go rsForRevision: the ReplicaSet of `to_revision`, or of the previous revision."""
    name = dep["metadata"]["name"]
    if to_revision:
        for rs in owned:
            if revision_of(rs) == to_revision:
                return rs
        raise errors.UserError("no_such_revision", revision=to_revision, deployment=name)
    if len(owned) < 2:
        raise errors.UserError("no_previous_revision", deployment=name)
    latest = max(revision_of(rs) for rs in owned)
    return max((rs for rs in owned if revision_of(rs) != latest), key=revision_of)


def already_at(dep: dict[str, Any], rs: dict[str, Any]) -> bool:
    return _without_hash(rs["spec"]["template"]) == _without_hash(dep["spec"]["template"])


def undo_patch(dep: dict[str, Any], rs: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON patch `kubectl rollout undo` sends: the RS template (minus the hash label) and annotations."""
    annotations = {k: v for k, v in (dep["metadata"].get("annotations") or {}).items() if k in ANNOTATIONS_TO_SKIP}
    for key, value in (rs["metadata"].get("annotations") or {}).items():
        if key not in ANNOTATIONS_TO_SKIP:
            annotations[key] = value
    return [
        {"op": "replace", "path": "/spec/template", "value": _without_hash(rs["spec"]["template"])},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]


def restart_patch(restarted_at: str) -> dict[str, Any]:
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: restarted_at}}}}}


def pick_container(dep: dict[str, Any], wanted: str | None) -> dict[str, Any]:
    containers = dep["spec"]["template"]["spec"].get("containers") or []
    if wanted is None:
        if not containers:
            raise errors.TargetError("no_containers", deployment=dep["metadata"]["name"])
        return dict(containers[0])
    for container in containers:
        if container.get("name") == wanted:
            return dict(container)
    names = [str(c.get("name", "?")) for c in containers]
    raise errors.UserError("no_such_container", deployment=dep["metadata"]["name"], container=wanted, has=names)


def env_value(container: dict[str, Any], variable: str) -> str | None:
    for item in container.get("env") or []:
        if item.get("name") == variable:
            # A valueFrom (Secret / ConfigMap reference) is never resolved: the bot does not read it.
            return values.REFERENCE if "valueFrom" in item else str(item.get("value", ""))
    return None


def env_patch(dep: dict[str, Any], container: str, variable: str, value: str | None) -> dict[str, Any]:
    """The strategic-merge patch `kubectl set env` computes (two-way merge, with $setElementOrder)."""
    containers = dep["spec"]["template"]["spec"].get("containers") or []
    current = next(c for c in containers if c.get("name") == container)
    names = [str(e.get("name")) for e in current.get("env") or []]
    if value is None:
        order = [n for n in names if n != variable]
        change: dict[str, Any] = {"$patch": "delete", "name": variable}
    else:
        order = names if variable in names else [*names, variable]
        change = {"name": variable, "value": value}
    return {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": c.get("name")} for c in containers],
                    "containers": [
                        {
                            "$setElementOrder/env": [{"name": n} for n in order],
                            "env": [change],
                            "name": container,
                        }
                    ],
                }
            }
        }
    }
