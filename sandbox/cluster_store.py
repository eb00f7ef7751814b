"""The sandbox API server's object store and object factories.

Objects are plain JSON dicts shaped like the real API's, with uid, resourceVersion,
creationTimestamp and generation, so the real client and kubectl decode them unchanged.
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"


@dataclass(frozen=True)
class ResourceType:
    group_version: str  # "apps/v1", "v1"
    plural: str
    kind: str
    verbs: tuple[str, ...]
    short_names: tuple[str, ...] = ()
    namespaced: bool = True  # False: cluster-scoped (nodes), stored under namespace ""


RESOURCES: tuple[ResourceType, ...] = (
    ResourceType("apps/v1", "deployments", "Deployment", ("get", "list", "watch", "patch"), ("deploy",)),
    ResourceType("apps/v1", "replicasets", "ReplicaSet", ("get", "list", "watch"), ("rs",)),
    ResourceType("v1", "pods", "Pod", ("get", "list", "watch", "delete"), ("po",)),
    ResourceType("v1", "configmaps", "ConfigMap", ("get", "list", "watch", "patch"), ("cm",)),
    ResourceType(
        "autoscaling/v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        ("get", "list", "patch"),
        ("hpa",),
    ),
    # What triage reads (sandbox/cluster_triage.py seeds them).
    ResourceType("v1", "events", "Event", ("get", "list"), ("ev",)),
    ResourceType("v1", "services", "Service", ("get", "list"), ("svc",)),
    ResourceType("v1", "endpoints", "Endpoints", ("get", "list"), ("ep",)),
    ResourceType("v1", "nodes", "Node", ("get", "list"), ("no",), namespaced=False),
    ResourceType("networking.k8s.io/v1", "ingresses", "Ingress", ("get", "list"), ("ing",)),
)
RESOURCE_BY_PLURAL = {(r.group_version, r.plural): r for r in RESOURCES}


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def template_hash(template: dict[str, Any]) -> str:
    """A stable pod-template-hash for a template (computed without the hash label itself)."""
    clean = template  # read only: the hash label left out of a copy of the path to it, not of the whole
    metadata = template.get("metadata", {})
    if HASH_LABEL in metadata.get("labels", {}):
        labels = {key: value for key, value in metadata["labels"].items() if key != HASH_LABEL}
        clean = {**template, "metadata": {**metadata, "labels": labels}}
    digest = hashlib.sha256(json.dumps(clean, sort_keys=True).encode()).hexdigest()
    return digest[:10]


class ObjectStore:
    """Objects by (plural, namespace, name); every write bumps one cluster-wide resourceVersion."""

    def __init__(self) -> None:
        # Objects by (plural, namespace), then name, so a list touches only its own bucket (a
        # thousand-service cluster is listed a thousand times by one health report).
        self._buckets: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self._sorted: dict[tuple[str, str], list[dict[str, Any]]] = {}  # by name, rebuilt after a write
        # (plural, namespace, controller uid) → names: the controller finds a deployment's ReplicaSets and
        # a ReplicaSet's pods without scanning the namespace.
        self._by_owner: dict[tuple[str, str, str], set[str]] = {}
        self._rv = 1000
        self._changed = asyncio.Event()

    @property
    def resource_version(self) -> str:
        return str(self._rv)

    def get(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self._buckets.get((plural, namespace), {}).get(name)

    def _bucket_list(self, key: tuple[str, str]) -> list[dict[str, Any]]:
        listed = self._sorted.get(key)
        if listed is None:
            bucket = self._buckets.get(key, {})
            listed = self._sorted[key] = [bucket[name] for name in sorted(bucket)]
        return listed

    def list(self, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        if namespace is not None:
            return list(self._bucket_list((plural, namespace)))
        keys = sorted(key for key in self._buckets if key[0] == plural)
        return [obj for key in keys for obj in self._bucket_list(key)]

    def owned(self, plural: str, namespace: str, owner_uid: str) -> builtins.list[dict[str, Any]]:
        """Objects whose controller is `owner_uid`, by name."""
        bucket = self._buckets.get((plural, namespace), {})
        names = self._by_owner.get((plural, namespace, owner_uid), set())
        return [bucket[name] for name in sorted(names) if name in bucket]

    def _index_owner(self, plural: str, namespace: str, obj: dict[str, Any], *, add: bool) -> None:
        uid = controller_uid(obj)
        if uid is None:
            return
        names = self._by_owner.setdefault((plural, namespace, uid), set())
        if add:
            names.add(obj["metadata"]["name"])
        else:
            names.discard(obj["metadata"]["name"])

    def put(self, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now_rfc3339())
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        namespace = meta.get("namespace", "")  # "" for cluster-scoped objects
        key = (plural, namespace)
        bucket = self._buckets.setdefault(key, {})
        previous = bucket.get(meta["name"])
        if previous is not None:
            self._index_owner(plural, namespace, previous, add=False)
        bucket[meta["name"]] = obj
        self._index_owner(plural, namespace, obj, add=True)
        self._sorted.pop(key, None)
        self._notify()
        return obj

    def delete(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        obj = self._buckets.get((plural, namespace), {}).pop(name, None)
        if obj is not None:
            self._index_owner(plural, namespace, obj, add=False)
            self._sorted.pop((plural, namespace), None)
            self._rv += 1
            self._notify()
        return obj

    def _notify(self) -> None:
        # One Event per generation of the store: set it to wake every watcher, then start a new one.
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for_change(self, within: float) -> None:
        """Return when anything changes, or after `within` seconds."""
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), within)
        except TimeoutError:
            return


def new_deployment(
    namespace: str,
    name: str,
    container: str,
    replicas: int,
    env: list[dict[str, str]] | None = None,
    extra_labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    labels = {"app": name, **(extra_labels or {})}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "generation": 1,
            "labels": dict(labels),
            "annotations": {REVISION: "1"},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "containers": [
                        {
                            "name": container,
                            "image": f"registry.example.com/{name}:1.0.0",
                            "env": list(env or []),
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                        }
                    ],
                    "restartPolicy": "Always",
                },
            },
        },
        "status": {"observedGeneration": 1, "replicas": 0, "updatedReplicas": 0},
    }


def new_replicaset(deployment: dict[str, Any], revision: int) -> dict[str, Any]:
    template = copy.deepcopy(deployment["spec"]["template"])
    pod_hash = template_hash(template)
    template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pod_hash
    meta = deployment["metadata"]
    selector = copy.deepcopy(deployment["spec"]["selector"])
    selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
    annotations = {REVISION: str(revision)}
    cause = meta.get("annotations", {}).get("kubernetes.io/change-cause")
    if cause:
        annotations["kubernetes.io/change-cause"] = cause
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{pod_hash}",
            "namespace": meta["namespace"],
            "labels": dict(template["metadata"]["labels"]),
            "annotations": annotations,
            "ownerReferences": [_owner(deployment)],
        },
        "spec": {"replicas": 0, "selector": selector, "template": template},
        "status": {"replicas": 0},
    }


def new_pod(rs: dict[str, Any], node: str) -> dict[str, Any]:
    template = rs["spec"]["template"]
    name = f"{rs['metadata']['name']}-{secrets.token_hex(3)[:5]}"
    containers = copy.deepcopy(template["spec"]["containers"])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": rs["metadata"]["namespace"],
            "labels": dict(template["metadata"]["labels"]),
            "annotations": dict(template["metadata"].get("annotations", {})),
            "ownerReferences": [_owner(rs)],
        },
        "spec": {"containers": containers, "nodeName": node, "restartPolicy": "Always"},
        "status": {
            "phase": "Pending",
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [
                {"name": c["name"], "ready": False, "restartCount": 0, "image": c.get("image", "")} for c in containers
            ],
        },
    }


def mark_pod_ready(pod: dict[str, Any]) -> None:
    pod["status"]["phase"] = "Running"
    pod["status"]["startTime"] = now_rfc3339()
    pod["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    for status in pod["status"]["containerStatuses"]:
        status["ready"] = True
        status["started"] = True
        status["state"] = {"running": {"startedAt": now_rfc3339()}}


def pod_ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in pod["status"].get("conditions", []))


def _owner(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_uid(obj: dict[str, Any]) -> str | None:
    """The uid of the object's controlling owner (ownerReferences with controller: true), if any."""
    refs = obj.get("metadata", {}).get("ownerReferences") or []
    return next((str(ref["uid"]) for ref in refs if ref.get("controller") and ref.get("uid")), None)
