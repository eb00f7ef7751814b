"""What a cluster looks like when someone starts diagnosing it: nodes, Services with their Endpoints,
Ingresses, HPAs with metrics, events, and one pod in CrashLoopBackOff after an OOMKill.

`seed_triage` adds them for every deployment of the catalog (after `seed_from_catalog`); the object
shapes are the API's, so the bot's client and a real kubectl (`get events`, `describe pod`) read them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from bot.catalog import Catalog
from sandbox.cluster_store import ObjectStore, pod_ready

NODES = ("sandbox-node-1", "sandbox-node-2", "sandbox-node-3")
KUBELET_VERSION = "v1.32.0"
CRASH_RESTARTS = 7


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ago(seconds: int) -> str:
    return stamp(datetime.now(UTC) - timedelta(seconds=seconds))


def _reference(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    return {
        "kind": obj["kind"],
        "namespace": meta.get("namespace", ""),
        "name": meta["name"],
        "uid": meta["uid"],
        "apiVersion": obj["apiVersion"],
        "resourceVersion": meta["resourceVersion"],
    }


def new_event(
    involved: dict[str, Any],
    reason: str,
    message: str,
    *,
    kind: str = "Normal",
    component: str = "kubelet",
    count: int = 1,
    first_seconds_ago: int = 600,
    last_seconds_ago: int = 600,
) -> dict[str, Any]:
    """A core/v1 Event the way the kubelet and the controllers write them."""
    name = f"{involved['metadata']['name']}.{secrets.token_hex(8)}"
    source = {"component": component}
    host = involved.get("spec", {}).get("nodeName")
    if component == "kubelet" and host:
        source["host"] = host
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": involved["metadata"].get("namespace", "default")},
        "involvedObject": _reference(involved),
        "reason": reason,
        "message": message,
        "source": source,
        "firstTimestamp": ago(first_seconds_ago),
        "lastTimestamp": ago(last_seconds_ago),
        "count": count,
        "type": kind,
        "reportingComponent": component,
        "reportingInstance": source.get("host", ""),
    }


def new_node(name: str) -> dict[str, Any]:
    ready = {
        "type": "Ready",
        "status": "True",
        "reason": "KubeletReady",
        "message": "kubelet is posting ready status",
        "lastHeartbeatTime": ago(20),
        "lastTransitionTime": ago(86400 * 12),
    }
    pressures = [
        {
            "type": kind,
            "status": "False",
            "reason": f"KubeletHasNo{kind}" if kind != "PIDPressure" else "KubeletHasSufficientPID",
            "message": f"kubelet has no {kind}",
            "lastHeartbeatTime": ago(20),
            "lastTransitionTime": ago(86400 * 12),
        }
        for kind in ("MemoryPressure", "DiskPressure", "PIDPressure")
    ]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
            "creationTimestamp": ago(86400 * 12),
        },
        "spec": {"podCIDR": "10.244.0.0/24"},
        "status": {
            "capacity": {"cpu": "4", "memory": "16393216Ki", "pods": "110"},
            "allocatable": {"cpu": "3800m", "memory": "15290368Ki", "pods": "110"},
            "conditions": [*pressures, ready],
            "addresses": [{"type": "InternalIP", "address": f"10.0.0.{NODES.index(name) + 11}"}],
            "nodeInfo": {
                "kubeletVersion": KUBELET_VERSION,
                "osImage": "Ubuntu 24.04 LTS",
                "containerRuntimeVersion": "containerd://1.7.22",
                "kernelVersion": "6.8.0-45-generic",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


def _service_objects(
    dep: dict[str, Any], pods: list[dict[str, Any]], index: int, host: str | None
) -> list[tuple[str, dict[str, Any]]]:
    meta = dep["metadata"]
    ns, name = meta["namespace"], meta["name"]
    selector = dict(dep["spec"]["selector"].get("matchLabels", {}))
    port = {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": f"10.96.{index // 250}.{index % 250 + 2}",
            "selector": selector,
            "ports": [port],
        },
        "status": {"loadBalancer": {}},
    }

    def address(pod: dict[str, Any]) -> dict[str, Any]:
        pod_ip = f"10.244.{index % 250}.{pods.index(pod) + 10}"
        pod.setdefault("status", {})["podIP"] = pod_ip
        ref = {"kind": "Pod", "namespace": ns, "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}
        return {"ip": pod_ip, "nodeName": pod["spec"].get("nodeName", ""), "targetRef": ref}

    subset: dict[str, Any] = {"ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}
    ready = [address(p) for p in pods if pod_ready(p)]
    not_ready = [address(p) for p in pods if not pod_ready(p)]
    if ready:
        subset["addresses"] = ready
    if not_ready:
        subset["notReadyAddresses"] = not_ready
    endpoints = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "subsets": [subset] if pods else [],
    }
    objects: list[tuple[str, dict[str, Any]]] = [("services", service), ("endpoints", endpoints)]
    if host:
        backend = {"service": {"name": name, "port": {"number": 80}}}
        rule = {"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
        ingress = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": f"{name}-ingress", "namespace": ns},
            "spec": {"ingressClassName": "nginx", "rules": [rule], "tls": [{"hosts": [host]}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}},
        }
        objects.append(("ingresses", ingress))
    return objects


def crash_loop(pod: dict[str, Any], container: str) -> None:
    """The pod's container was OOMKilled and is now backing off before its next restart."""
    pod["spec"]["containers"][0].setdefault("resources", {})["limits"] = {"memory": "256Mi"}
    pod["status"]["phase"] = "Running"
    pod["status"]["conditions"] = [
        {"type": "Initialized", "status": "True", "lastTransitionTime": ago(3600)},
        {
            "type": "Ready",
            "status": "False",
            "reason": "ContainersNotReady",
            "message": f"containers with unready status: [{container}]",
            "lastTransitionTime": ago(95),
        },
        {
            "type": "ContainersReady",
            "status": "False",
            "reason": "ContainersNotReady",
            "message": f"containers with unready status: [{container}]",
            "lastTransitionTime": ago(95),
        },
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": ago(3600)},
    ]
    for status in pod["status"]["containerStatuses"]:
        status.update(
            ready=False,
            started=False,
            restartCount=CRASH_RESTARTS,
            state={
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off 5m0s restarting failed container={container} "
                    f"pod={pod['metadata']['name']}_{pod['metadata']['namespace']}({pod['metadata']['uid']})",
                }
            },
            lastState={
                "terminated": {
                    "exitCode": 137,
                    "reason": "OOMKilled",
                    "startedAt": ago(160),
                    "finishedAt": ago(95),
                }
            },
        )


def _pod_events(pod: dict[str, Any], container: str, crashing: bool) -> list[dict[str, Any]]:
    name, ns = pod["metadata"]["name"], pod["metadata"]["namespace"]
    image = pod["spec"]["containers"][0].get("image", "")
    node = pod["spec"].get("nodeName", "")
    events = [
        new_event(
            pod,
            "Scheduled",
            f"Successfully assigned {ns}/{name} to {node}",
            component="default-scheduler",
            first_seconds_ago=3600,
            last_seconds_ago=3600,
        ),
        new_event(pod, "Pulled", f'Container image "{image}" already present on machine', first_seconds_ago=3590),
        new_event(pod, "Created", f"Created container {container}", first_seconds_ago=3590),
        new_event(pod, "Started", f"Started container {container}", first_seconds_ago=3590),
    ]
    if crashing:
        restarts = CRASH_RESTARTS + 1
        for event in events[1:]:
            event["count"], event["lastTimestamp"] = restarts, ago(160)
        events.append(
            new_event(
                pod,
                "BackOff",
                f"Back-off restarting failed container {container} in pod {name}_{ns}({pod['metadata']['uid']})",
                kind="Warning",
                count=31,
                first_seconds_ago=3000,
                last_seconds_ago=40,
            )
        )
        events.append(
            new_event(
                pod,
                "Unhealthy",
                'Readiness probe failed: Get "http://10.244.0.10:8080/health": dial tcp 10.244.0.10:8080: '
                "connect: connection refused",
                kind="Warning",
                count=12,
                first_seconds_ago=3000,
                last_seconds_ago=100,
            )
        )
    return events


def seed_triage(store: ObjectStore, catalog: Catalog, crashing_service: str = "email-dashboard") -> None:
    """Nodes, then per catalog deployment: Service, Endpoints, Ingress (from its health URL), events,
    HPA metrics; the first pod of `crashing_service` is crash-looping after an OOMKill."""
    for node in NODES:
        if store.get("nodes", "", node) is None:
            store.put("nodes", new_node(node))
    for index, (service_name, service) in enumerate(sorted(catalog.services.items())):
        target = service.kubernetes
        if target is None or target.deployment is None:
            continue
        dep = store.get("deployments", target.namespace, target.deployment)
        if dep is None:
            continue
        container = dep["spec"]["template"]["spec"]["containers"][0]["name"]
        replicasets = store.owned("replicasets", target.namespace, dep["metadata"]["uid"])
        pods = [p for rs in replicasets for p in store.owned("pods", target.namespace, rs["metadata"]["uid"])]
        if service_name == crashing_service and pods:
            crash_loop(pods[0], container)
        events: list[dict[str, Any]] = []
        for rs in replicasets:
            replicas = int(rs["spec"].get("replicas", 0))
            events.append(
                new_event(
                    dep,
                    "ScalingReplicaSet",
                    f"Scaled up replica set {rs['metadata']['name']} to {replicas}",
                    component="deployment-controller",
                    first_seconds_ago=3610,
                    last_seconds_ago=3610,
                )
            )
            for pod in store.owned("pods", target.namespace, rs["metadata"]["uid"]):
                events.append(
                    new_event(
                        rs,
                        "SuccessfulCreate",
                        f"Created pod: {pod['metadata']['name']}",
                        component="replicaset-controller",
                        first_seconds_ago=3605,
                        last_seconds_ago=3605,
                    )
                )
        for pod in pods:
            events += _pod_events(pod, container, crashing=service_name == crashing_service and pod is pods[0])
            store.put("pods", pod)
        host = urlsplit(service.health_url).hostname if service.health_url else None
        for plural, obj in _service_objects(dep, pods, index, host):
            store.put(plural, obj)
        for event in events:
            store.put("events", event)
        if target.hpa:
            _hpa_metrics(store, target.namespace, target.hpa, len(pods))


def _hpa_metrics(store: ObjectStore, ns: str, name: str, current: int) -> None:
    hpa = store.get("horizontalpodautoscalers", ns, name)
    if hpa is None:
        return
    target = {"type": "Utilization", "averageUtilization": 70}
    hpa["spec"]["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": target}}]
    hpa["status"] = {
        "currentReplicas": current,
        "desiredReplicas": current,
        "lastScaleTime": ago(1800),
        "currentMetrics": [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "current": {"averageUtilization": 64, "averageValue": "192m"}},
            }
        ],
        "conditions": [
            {
                "type": "AbleToScale",
                "status": "True",
                "reason": "ReadyForNewScale",
                "message": "recommended size matches current size",
            },
            {
                "type": "ScalingActive",
                "status": "True",
                "reason": "ValidMetricFound",
                "message": "the HPA was able to successfully calculate a replica count from cpu resource "
                "utilization (percentage of request)",
            },
        ],
    }
    store.put("horizontalpodautoscalers", hpa)


# -- server-side Table columns (kubectl get) for these kinds -----------------------------------------
COLUMNS: dict[str, list[str]] = {
    "events": ["Last Seen", "Type", "Reason", "Object", "Message"],
    "nodes": ["Name", "Status", "Roles", "Age", "Version"],
    "services": ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"],
    "endpoints": ["Name", "Endpoints", "Age"],
    "ingresses": ["Name", "Class", "Hosts", "Address", "Ports", "Age"],
    "horizontalpodautoscalers": ["Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"],
}


def cells(plural: str, obj: dict[str, Any], age: str) -> list[Any]:
    name, spec, status = obj["metadata"]["name"], obj.get("spec", {}), obj.get("status", {})
    if plural == "events":
        involved = obj["involvedObject"]
        what = f"{involved['kind'].lower()}/{involved['name']}"
        return [
            _since(obj.get("lastTimestamp", "")),
            obj.get("type", ""),
            obj.get("reason", ""),
            what,
            obj.get("message", ""),
        ]
    if plural == "nodes":
        ready: dict[str, Any] = next((c for c in status.get("conditions", []) if c["type"] == "Ready"), {})
        version = status.get("nodeInfo", {}).get("kubeletVersion", "")
        return [name, "Ready" if ready.get("status") == "True" else "NotReady", "<none>", age, version]
    if plural == "services":
        ports = ",".join(f"{p['port']}/{p.get('protocol', 'TCP')}" for p in spec.get("ports", []))
        return [name, spec.get("type", "ClusterIP"), spec.get("clusterIP", ""), "<none>", ports, age]
    if plural == "endpoints":
        addresses = [
            f"{a['ip']}:{p['port']}" for s in obj.get("subsets", []) for a in s.get("addresses", []) for p in s["ports"]
        ]
        return [name, ",".join(addresses) or "<none>", age]
    if plural == "ingresses":
        hosts = ",".join(r.get("host", "*") for r in spec.get("rules", []))
        address = ",".join(i.get("ip", "") for i in status.get("loadBalancer", {}).get("ingress", []))
        return [name, spec.get("ingressClassName", "<none>"), hosts, address, "80, 443", age]
    ref = spec.get("scaleTargetRef", {})
    targets = ", ".join(
        f"cpu: {c['resource']['current'].get('averageUtilization', '<unknown>')}%/"
        f"{m['resource']['target'].get('averageUtilization')}%"
        for c, m in zip(status.get("currentMetrics") or [], spec.get("metrics") or [], strict=False)
    )
    return [
        name,
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        targets or "<unknown>",
        spec.get("minReplicas", 1),
        spec.get("maxReplicas", 1),
        status.get("currentReplicas", 0),
        age,
    ]


def _since(moment: str) -> str:
    if not moment:
        return "<unknown>"
    then = datetime.strptime(moment, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    seconds = max(0, int((datetime.now(UTC) - then).total_seconds()))
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m"


@dataclass(frozen=True)
class LogEntry:
    stamp: str  # what `timestamps=true` prefixes (RFC 3339 with nanoseconds)
    age_seconds: float
    text: str


def pod_log_lines(pod: str, container: str, fixed: list[str] | None, *, previous: bool) -> list[LogEntry]:
    """What a container logged: 200 access-log lines a second apart (or a test's fixed lines), ending
    now; each pod's clock is a few milliseconds off the others', so merged logs interleave. The previous
    container of a crash-looping pod ends with its out-of-memory death."""
    if previous:
        texts = [f"{container} worker started pid={100 + i}" for i in range(3)] + [
            f"{container} ERROR heap usage 251Mi of 256Mi limit",
            f"{container} FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
        ]
        end = datetime.now(UTC) - timedelta(seconds=95)
    else:
        texts = fixed or [
            f"{container} GET /health 200 {3 + i % 7}ms request_id={i:05d}"
            if i % 40 != 39
            else f"{container} ERROR upstream timeout after 30000ms request_id={i:05d}"
            for i in range(200)
        ]
        end = datetime.now(UTC)
    skew = int(hashlib.sha256(pod.encode()).hexdigest()[:4], 16) % 1000
    entries = []
    for i, text in enumerate(texts):
        age = float(len(texts) - 1 - i) + skew / 1000
        moment = end - timedelta(seconds=age)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}{skew % 1000:03d}Z"
        entries.append(LogEntry(stamp, age, f"{stamp[:19]}Z {text}" if fixed is None else text))
    return entries


def field_value(obj: dict[str, Any], path: str) -> str:
    """A field selector's value (`involvedObject.uid`, `metadata.name`); "" when absent."""
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)
