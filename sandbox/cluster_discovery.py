"""Discovery documents and server-side Table rendering, enough for a real kubectl.

kubectl 1.32 asks for aggregated discovery first; answering with plain APIGroupList JSON
makes it fall back to the legacy per-group documents, which is simpler to serve.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandbox import cluster_triage
from sandbox.cluster_store import RESOURCES, pod_ready

METRICS_GV = "metrics.k8s.io/v1beta1"
VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-sandbox",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23.4",
    "compiler": "gc",
    "platform": "linux/amd64",
}
SUBRESOURCES: dict[str, list[dict[str, Any]]] = {
    "apps/v1": [
        {
            "name": "deployments/scale",
            "singularName": "",
            "namespaced": True,
            "group": "autoscaling",
            "version": "v1",
            "kind": "Scale",
            "verbs": ["get", "patch", "update"],
        },
        {
            "name": "deployments/status",
            "singularName": "",
            "namespaced": True,
            "kind": "Deployment",
            "verbs": ["get"],
        },
    ],
    "v1": [{"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]}],
}


def group_versions(metrics_enabled: bool) -> list[str]:
    gvs = sorted({r.group_version for r in RESOURCES if "/" in r.group_version})
    return [*gvs, METRICS_GV] if metrics_enabled else gvs


def api_group_list(metrics_enabled: bool) -> dict[str, Any]:
    groups = []
    for gv in group_versions(metrics_enabled):
        group, version = gv.split("/")
        entry = {"groupVersion": gv, "version": version}
        groups.append({"name": group, "versions": [entry], "preferredVersion": entry})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def resource_list(group_version: str) -> dict[str, Any] | None:
    resources: list[dict[str, Any]] = []
    if group_version == METRICS_GV:
        resources.append(
            {
                "name": "pods",
                "singularName": "",
                "namespaced": True,
                "kind": "PodMetrics",
                "verbs": ["get", "list"],
            }
        )
    for r in RESOURCES:
        if r.group_version == group_version:
            resources.append(
                {
                    "name": r.plural,
                    "singularName": r.kind.lower(),
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": list(r.verbs),
                    "shortNames": list(r.short_names),
                }
            )
    if not resources:
        return None
    resources.extend(SUBRESOURCES.get(group_version, []))
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }


def _age(obj: dict[str, Any]) -> str:
    created = datetime.strptime(obj["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    seconds = int((datetime.now(UTC) - created).total_seconds())
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m"


def _columns(plural: str) -> list[str]:
    return {
        "deployments": ["Name", "Ready", "Up-to-date", "Available", "Age"],
        "pods": ["Name", "Ready", "Status", "Restarts", "Age"],
        **cluster_triage.COLUMNS,
    }.get(plural, ["Name", "Age"])


def _cells(plural: str, obj: dict[str, Any]) -> list[Any]:
    name, status = obj["metadata"]["name"], obj.get("status", {})
    if plural == "deployments":
        ready = f"{status.get('readyReplicas', 0)}/{obj['spec'].get('replicas', 1)}"
        return [name, ready, status.get("updatedReplicas", 0), status.get("availableReplicas", 0), _age(obj)]
    if plural == "pods":
        statuses = status.get("containerStatuses", [])
        ready = f"{sum(1 for s in statuses if s.get('ready'))}/{len(statuses)}"
        restarts = sum(int(s.get("restartCount", 0)) for s in statuses)
        phase = "Running" if pod_ready(obj) else status.get("phase", "Pending")
        return [name, ready, phase, restarts, _age(obj)]
    if plural in cluster_triage.COLUMNS:
        return cluster_triage.cells(plural, obj, _age(obj))
    return [name, _age(obj)]


def table(
    plural: str, objects: list[dict[str, Any]], resource_version: str, *, include_object: bool = False
) -> dict[str, Any]:
    """The meta.k8s.io/v1 Table kubectl asks for with `Accept: …;as=Table`; `includeObject=Object`
    (kubectl get --sort-by) embeds each full object instead of its metadata."""
    columns = [
        {
            "name": c,
            "type": "string",
            "format": "name" if c == "Name" else "",
            "description": c,
            "priority": 0,
        }
        for c in _columns(plural)
    ]
    rows = [
        {
            "cells": _cells(plural, obj),
            "object": obj
            if include_object
            else {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            },
        }
        for obj in objects
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": columns,
        "rows": rows,
    }
