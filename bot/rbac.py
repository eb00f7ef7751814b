"""`runbook-bot rbac`: least-privilege Roles rendered from the catalog and the procedures that may run
on each Kubernetes target — per namespace, with `resourceNames` wherever the verb accepts them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from bot.catalog import Catalog
from bot.catalog_targets import ConfigMapMaintenance, KubernetesTarget
from bot.runbooks.model import Procedure

NAMED_VERBS = frozenset({"get", "patch", "update", "delete"})  # list/watch/create cannot be limited by name


@dataclass(frozen=True)
class Access:
    group: str
    resource: str
    verb: str
    name: str | None  # None: any object of that resource (lists, pod names chosen at run time)


def _deployment(target: KubernetesTarget, *verbs: str) -> list[Access]:
    return [Access("apps", "deployments", verb, target.deployment) for verb in verbs]


def _pods(target: KubernetesTarget) -> list[Access]:
    """A workload's pods: read through its Deployment's selector, or listed by the target's own selector."""
    return ([] if target.selector else _deployment(target, "get")) + [Access("", "pods", "list", None)]


def action_access(action: str, target: KubernetesTarget, args: Mapping[str, Any]) -> list[Access]:
    """The API calls bot/k8s makes for one action on one target (tests/k8s/test_rbac.py checks them)."""
    replicasets = Access("apps", "replicasets", "list", None)
    table: dict[str, list[Access]] = {
        "kubernetes.status": _pods(target),
        "kubernetes.pods": _pods(target),
        "kubernetes.logs": [*_pods(target), Access("", "pods/log", "get", None)],
        "kubernetes.top": [*_deployment(target, "get"), Access("metrics.k8s.io", "pods", "list", None)],
        "kubernetes.history": [*_deployment(target, "get"), replicasets],
        # `kubectl rollout status`: list the deployment by name, then watch it (no pods, no ReplicaSets).
        "kubernetes.rollout_status": [
            Access("apps", "deployments", verb, target.deployment) for verb in ("list", "watch")
        ],
        "kubernetes.scale": [
            *_deployment(target, "get"),
            Access("apps", "deployments/scale", "get", target.deployment),
            Access("apps", "deployments/scale", "patch", target.deployment),
        ],
        "kubernetes.rollout_restart": _deployment(target, "get", "patch"),
        "kubernetes.rollout_undo": [*_deployment(target, "get", "patch"), replicasets],
        "kubernetes.set_env": _deployment(target, "get", "patch"),
        "kubernetes.hpa_set": [
            Access("autoscaling", "horizontalpodautoscalers", verb, target.hpa) for verb in ("get", "patch")
        ],
        "kubernetes.delete_pods": [*_pods(target), Access("", "pods", "delete", None)],
    }
    if action == "kubernetes.configmap_set":
        literal = args.get("name")
        name = literal if isinstance(literal, str) and not literal.startswith("$") else None
        return [Access("", "configmaps", verb, name) for verb in ("get", "patch")]
    if action == "kubernetes.maintenance":
        mode = target.maintenance
        if isinstance(mode, ConfigMapMaintenance):
            return [Access("", "configmaps", verb, mode.configmap) for verb in ("get", "patch")]
        return _deployment(target, "get", "patch")
    return table.get(action, [])


def needed_access(catalog: Catalog, procedures: Mapping[str, Procedure]) -> dict[str, set[Access]]:
    """Namespace → every call some procedure may make there, over the services it may run on."""
    found: dict[str, set[Access]] = defaultdict(set)
    for procedure in procedures.values():
        param = procedure.service_param
        if procedure.target is not None:
            places = [(procedure.target.service, procedure.target.component)]
        elif param is not None:
            places = [(name, None) for name in (param.services or [])]
        else:
            places = []
        for service, component in places:
            target = catalog.services[service].target("kubernetes", component)
            if not isinstance(target, KubernetesTarget):
                continue
            for step in procedure.steps:
                found[target.namespace].update(action_access(step.action, target, step.args))
    return found


def rules(accesses: set[Access]) -> list[dict[str, Any]]:
    """Kubernetes PolicyRules: one per (group, resource, names), verbs merged; names only where they apply."""
    names: dict[tuple[str, str, str], set[str] | None] = {}
    for a in accesses:
        key = (a.group, a.resource, a.verb)
        if a.name is None or a.verb not in NAMED_VERBS:
            names[key] = None
        elif key not in names or names[key] is not None:
            names[key] = (names.get(key) or set()) | {a.name}
    grouped: dict[tuple[str, str, tuple[str, ...]], list[str]] = defaultdict(list)
    for (group, resource, verb), named in sorted(names.items()):
        grouped[(group, resource, tuple(sorted(named or ())))].append(verb)
    out = []
    for (group, resource, resource_names), verbs in sorted(grouped.items()):
        rule: dict[str, Any] = {"apiGroups": [group], "resources": [resource], "verbs": sorted(verbs)}
        if resource_names:
            rule["resourceNames"] = list(resource_names)
        out.append(rule)
    return out


def render(catalog: Catalog, procedures: Mapping[str, Procedure], *, account: str, account_namespace: str) -> str:
    """A Role and a RoleBinding per namespace, as one multi-document YAML."""
    documents: list[dict[str, Any]] = []
    for namespace, accesses in sorted(needed_access(catalog, procedures).items()):
        meta = {"name": account, "namespace": namespace}
        documents.append(
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta, "rules": rules(accesses)}
        )
        documents.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": meta,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
                "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": account_namespace}],
            }
        )
    header = "# Generated by `runbook-bot rbac` from the catalog and the procedures; do not edit by hand.\n"
    return header + yaml.safe_dump_all(documents, sort_keys=False)
