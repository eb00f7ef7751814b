"""The reads a diagnosis starts with: events, describe, nodes, HPA, endpoints, rollout state, merged logs.

Each is the request kubectl makes for the same question (`get events`, `describe pod`, `get nodes`,
`get hpa`, `get svc,ep,ing`, `rollout status --watch=false`, `logs -l … --timestamps`), as raw JSON like
the rest of the adapter, and each is filtered to the objects of one catalog workload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot import errors
from bot.catalog_targets import KubernetesTarget
from bot.k8s import rest, rollouts
from bot.k8s.errors import Op
from bot.k8s.kube import KubeCore, age_seconds
from bot.k8s.models import Condition
from bot.k8s.triage_models import (
    ContainerDescription,
    ContainerState,
    EndpointAddress,
    EventInfo,
    HpaMetric,
    HpaStatus,
    LogLine,
    MergedLogs,
    NodeInfo,
    PodDescription,
    RolloutState,
    ServiceEndpoints,
)

MAX_LOG_PODS = 50  # every pod of a service, up to a size no service in a runbook approaches
LOG_BYTES_PER_POD = 512_000  # the API's limitBytes: a pod logging faster than this has its oldest lines left out
SCAN_LINES_PER_POD = 5000  # with a filter, the newest lines each pod is asked for before filtering
LINE_CHARS = 2000  # a line is matched (and shown) up to this length, which bounds the filter's work


def _conditions(items: list[dict[str, Any]] | None) -> tuple[Condition, ...]:
    return tuple(
        Condition(str(c.get("type")), str(c.get("status")), str(c.get("reason", "")), str(c.get("message", "")))
        for c in items or []
    )


def _event(item: dict[str, Any]) -> EventInfo:
    involved = item.get("involvedObject") or {}
    return EventInfo(
        type=str(item.get("type") or "Normal"),
        reason=str(item.get("reason") or ""),
        object=f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
        message=str(item.get("message") or "").strip(),
        count=int(item.get("count") or 1),
        last_seen=str(item.get("lastTimestamp") or item.get("eventTime") or item.get("firstTimestamp") or ""),
    )


def _state(raw: dict[str, Any] | None) -> ContainerState | None:
    if not raw:
        return None
    kind, detail = next(iter(raw.items()))
    detail = detail or {}
    exit_code = detail.get("exitCode")
    return ContainerState(
        state=str(kind),
        reason=str(detail.get("reason", "")),
        message=str(detail.get("message", "")),
        exit_code=None if exit_code is None else int(exit_code),
        at=str(detail.get("finishedAt") or detail.get("startedAt") or ""),
    )


def _container(spec: dict[str, Any], status: dict[str, Any]) -> ContainerDescription:
    return ContainerDescription(
        name=str(spec["name"]),
        image=str(spec.get("image", "")),
        ready=bool(status.get("ready")),
        restarts=int(status.get("restartCount", 0)),
        state=_state(status.get("state")) or ContainerState("waiting", "ContainerCreating", "", None, ""),
        last_state=_state(status.get("lastState")),
    )


def _metric(spec: dict[str, Any], current: dict[str, Any] | None) -> HpaMetric:
    """One line of `kubectl describe hpa`'s Metrics: the current value against the target."""
    kind = str(spec.get("type", ""))
    body = spec.get(kind[:1].lower() + kind[1:]) or {}
    name = str(body.get("name") or (body.get("metric") or {}).get("name") or kind)
    now = (current or {}).get(kind[:1].lower() + kind[1:]) or {}

    def shown(value: dict[str, Any]) -> str:
        if value.get("averageUtilization") is not None:
            return f"{value['averageUtilization']}%"
        return str(value.get("averageValue") or value.get("value") or "<unknown>")

    return HpaMetric(name=name, current=shown(now.get("current") or {}), target=shown(body.get("target") or {}))


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _restarted(pod: dict[str, Any], container: str | None) -> bool:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return any((container is None or s.get("name") == container) and s.get("lastState") for s in statuses)


def _sort_key(line: LogLine) -> tuple[datetime, str]:
    stamp = line.timestamp
    try:
        # RFC 3339 with up to nanoseconds; Python parses microseconds, which is enough to order lines.
        head, _, fraction = stamp.rstrip("Z").partition(".")
        moment = datetime.fromisoformat(head + "." + (fraction + "000000")[:6]).replace(tzinfo=UTC)
    except ValueError:
        moment = datetime.min.replace(tzinfo=UTC)
    return moment, line.pod


class KubeTriage(KubeCore):
    """Read-only diagnosis of one workload; every method is one or a few list/get calls."""

    async def _get(
        self, service: KubernetesTarget, op: Op, resource_path: str, query: rest.Query | None = None
    ) -> dict[str, Any]:
        """One GET of `resource_path`, parsed once into plain dicts (the fields kubectl reads)."""
        t = self.timeout
        body: dict[str, Any] | None = await self.call(
            service, op, lambda api: rest.request_json(api, "GET", resource_path, query=query, timeout=t)
        )
        return body or {}

    async def _workload(self, service: KubernetesTarget) -> tuple[dict[str, Any] | None, str]:
        """The Deployment (None for a label-selected target) and the label selector of its pods."""
        if service.selector:
            return None, service.selector
        dep = await self.read_deployment(service)
        return dep, rollouts.selector_of(dep)

    async def _namespace_events(self, service: KubernetesTarget) -> list[dict[str, Any]]:
        ns = service.namespace
        body = await self._get(
            service,
            Op("list", "events", ns, "events", ""),
            rest.path("/api/v1/namespaces/{ns}/events", ns=ns),
        )
        return list(body.get("items") or [])

    async def events(self, service: KubernetesTarget) -> tuple[EventInfo, ...]:
        """`kubectl get events --sort-by=.lastTimestamp`, only the workload's Deployment, ReplicaSets and
        pods; Warnings first, each group oldest to newest like kubectl."""
        dep, selector = await self._workload(service)
        uids: set[str] = set()
        if dep is not None:
            uids.add(str(dep["metadata"]["uid"]))
            ns = service.namespace
            listed = await self._get(
                service,
                Op("list", "replicasets", ns, "replicasets", ""),
                rest.path("/apis/apps/v1/namespaces/{ns}/replicasets", ns=ns),
                {"labelSelector": selector},
            )
            uids |= {str(rs["metadata"]["uid"]) for rs in rollouts.owned_replicasets(dep, listed.get("items") or [])}
        uids |= {str(p["metadata"]["uid"]) for p in await self.list_pods(service, selector)}
        found = [
            _event(e)
            for e in await self._namespace_events(service)
            if (e.get("involvedObject") or {}).get("uid") in uids
        ]
        found.sort(key=lambda e: (e.type != "Warning", e.last_seen))
        return tuple(found)

    async def describe(self, service: KubernetesTarget, pod: str | None = None) -> tuple[PodDescription, ...]:
        """`kubectl describe pod`: one named pod of the workload, or all of them."""
        _, selector = await self._workload(service)
        pods = await self.list_pods(service, selector)
        if pod is not None:
            names = sorted(p["metadata"]["name"] for p in pods)
            pods = [p for p in pods if p["metadata"]["name"] == pod]
            if not pods:
                raise errors.UserError("not_a_pod_of_service", pod=pod, pods=list(names))
        warnings: dict[str, list[EventInfo]] = {}
        for item in await self._namespace_events(service):
            if item.get("type") == "Warning":
                warnings.setdefault(str((item.get("involvedObject") or {}).get("uid")), []).append(_event(item))
        described = []
        for p in sorted(pods, key=lambda p: str(p["metadata"]["name"])):
            spec, status = p.get("spec") or {}, p.get("status") or {}
            statuses = {s.get("name"): s for s in status.get("containerStatuses") or []}
            described.append(
                PodDescription(
                    name=str(p["metadata"]["name"]),
                    node=str(spec.get("nodeName", "")),
                    phase=str(status.get("phase", "Unknown")),
                    started=str(status.get("startTime", "")),
                    conditions=_conditions(status.get("conditions")),
                    containers=tuple(_container(c, statuses.get(c["name"]) or {}) for c in spec.get("containers", [])),
                    warnings=tuple(sorted(warnings.get(str(p["metadata"]["uid"]), []), key=lambda e: e.last_seen)),
                )
            )
        return tuple(described)

    async def nodes(self, service: KubernetesTarget) -> tuple[NodeInfo, ...]:
        """`kubectl get nodes` of the cluster the workload runs in (its kubeconfig context)."""
        body = await self._get(
            service,
            Op("list", "nodes", "the cluster", "nodes", ""),
            "/api/v1/nodes",
        )
        found = []
        for node in body.get("items") or []:
            status = node.get("status") or {}
            conditions = _conditions(status.get("conditions"))
            allocatable = status.get("allocatable") or {}
            found.append(
                NodeInfo(
                    name=str(node["metadata"]["name"]),
                    ready=any(c.type == "Ready" and c.status == "True" for c in conditions),
                    problems=tuple(c.type for c in conditions if c.type != "Ready" and c.status == "True"),
                    unschedulable=bool((node.get("spec") or {}).get("unschedulable")),
                    version=str((status.get("nodeInfo") or {}).get("kubeletVersion", "")),
                    cpu=str(allocatable.get("cpu", "")),
                    memory=str(allocatable.get("memory", "")),
                    age_seconds=age_seconds(node),
                )
            )
        return tuple(sorted(found, key=lambda n: n.name))

    async def hpa(self, service: KubernetesTarget) -> HpaStatus:
        """`kubectl describe hpa`: the catalog's HPA, else the one whose scaleTargetRef is the Deployment."""
        ns = service.namespace
        if service.hpa:
            name = service.hpa
            found = await self._get(
                service,
                Op("get", "horizontalpodautoscalers", ns, "hpa", name),
                rest.path("/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/{name}", ns=ns, name=name),
            )
        else:
            listed = await self._get(
                service,
                Op("list", "horizontalpodautoscalers", ns, "hpa", ""),
                rest.path("/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers", ns=ns),
            )
            deployment = service.deployment_name
            match = [
                h
                for h in listed.get("items") or []
                if (h.get("spec") or {}).get("scaleTargetRef", {}).get("name") == deployment
            ]
            if not match:
                raise errors.NotFoundError("no_hpa_for_deployment", deployment=deployment, namespace=ns)
            found = match[0]
        spec, status = found.get("spec") or {}, found.get("status") or {}
        current = status.get("currentMetrics") or []
        metrics = tuple(
            _metric(m, current[i] if i < len(current) else None) for i, m in enumerate(spec.get("metrics") or [])
        )
        return HpaStatus(
            name=str(found["metadata"]["name"]),
            current=int(status.get("currentReplicas", 0)),
            desired=int(status.get("desiredReplicas", 0)),
            min_replicas=int(spec.get("minReplicas", 1)),
            max_replicas=int(spec.get("maxReplicas", 1)),
            metrics=metrics,
            conditions=_conditions(status.get("conditions")),
        )

    async def endpoints(self, service: KubernetesTarget) -> tuple[ServiceEndpoints, ...]:
        """`kubectl get svc,ep,ing`: the Services selecting the workload's pods, their endpoints, and the
        Ingress hosts that route to them."""
        dep, _ = await self._workload(service)
        labels = (
            dict(dep["spec"]["template"].get("metadata", {}).get("labels") or {})
            if dep is not None
            else dict(pair.split("=", 1) for pair in (service.selector or "").split(",") if "=" in pair)
        )
        ns = service.namespace
        services, endpoints, ingresses = await asyncio.gather(
            self._get(
                service,
                Op("list", "services", ns, "services", ""),
                rest.path("/api/v1/namespaces/{ns}/services", ns=ns),
            ),
            self._get(
                service,
                Op("list", "endpoints", ns, "endpoints", ""),
                rest.path("/api/v1/namespaces/{ns}/endpoints", ns=ns),
            ),
            self._get(
                service,
                Op("list", "ingresses", ns, "ingresses", ""),
                rest.path("/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses", ns=ns),
            ),
        )
        by_name = {e["metadata"]["name"]: e for e in endpoints.get("items") or []}
        found = []
        for svc in services.get("items") or []:
            spec = svc.get("spec") or {}
            if not _selects(spec.get("selector") or {}, labels):
                continue
            name = str(svc["metadata"]["name"])
            addresses = [
                EndpointAddress(str(a.get("ip", "")), str((a.get("targetRef") or {}).get("name", "")), ready)
                for subset in (by_name.get(name) or {}).get("subsets") or []
                for key, ready in (("addresses", True), ("notReadyAddresses", False))
                for a in subset.get(key) or []
            ]
            hosts = sorted(
                {
                    str(rule.get("host") or "*")
                    for ing in ingresses.get("items") or []
                    for rule in (ing.get("spec") or {}).get("rules") or []
                    for path in (rule.get("http") or {}).get("paths") or []
                    if ((path.get("backend") or {}).get("service") or {}).get("name") == name
                }
            )
            ports = tuple(
                f"{p.get('port')}→{p.get('targetPort', p.get('port'))}/{p.get('protocol', 'TCP')}"
                for p in spec.get("ports") or []
            )
            found.append(
                ServiceEndpoints(
                    name=name,
                    type=str(spec.get("type", "ClusterIP")),
                    cluster_ip=str(spec.get("clusterIP", "")),
                    ports=ports,
                    addresses=tuple(sorted(addresses, key=lambda a: (not a.ready, a.pod))),
                    ingress_hosts=tuple(hosts),
                )
            )
        return tuple(found)

    async def rollout_state(self, service: KubernetesTarget) -> RolloutState:
        """`kubectl rollout status --watch=false`: the current message, read once."""
        dep = await self.read_deployment(service)
        message, done = rollouts.status_message(dep)
        return RolloutState(message=message, done=done, revision=rollouts.revision_of(dep))

    async def logs(
        self,
        service: KubernetesTarget,
        *,
        lines: int = 100,
        since_seconds: int | None = None,
        container: str | None = None,
        previous: bool = False,
        keep: Callable[[str], bool] | None = None,
    ) -> MergedLogs:
        """`kubectl logs -l <selector> --timestamps --prefix` over every pod, merged by timestamp; with
        `keep`, the newest `lines` lines it keeps (each pod is read further back to find them)."""
        if service.selector:  # label-selected pods: the named container, else the pod's only/default one
            name, selector = container or service.container, service.selector
        else:
            dep = await self.read_deployment(service)
            name = rollouts.pick_container(dep, container or service.container)["name"]
            selector = rollouts.selector_of(dep)
        listed = await self.list_pods(service, selector)
        if previous:  # only a container that restarted has a previous one; asking the others is an error
            listed = [p for p in listed if _restarted(p, name)]
        every = sorted(p["metadata"]["name"] for p in listed)
        pods = every[:MAX_LOG_PODS]
        tail = SCAN_LINES_PER_POD if keep is not None else lines
        t, ns = self.timeout, service.namespace

        async def read(pod: str) -> bytes:
            query: rest.Query = {
                "container": name,
                "limitBytes": LOG_BYTES_PER_POD,
                "previous": previous or None,
                "sinceSeconds": since_seconds,
                "tailLines": tail,
                "timestamps": True,
            }
            resource = rest.path("/api/v1/namespaces/{ns}/pods/{pod}/log", ns=ns, pod=pod)
            return await self.call(
                service,
                Op("get", "pods/log", ns, "pod", pod),
                lambda api: rest.request_bytes(api, resource, query=query, timeout=t),
            )

        raw = await asyncio.gather(*(read(pod) for pod in pods))
        merged: list[LogLine] = []
        clipped = []
        for pod, body in zip(pods, raw, strict=True):
            if len(body) >= LOG_BYTES_PER_POD:
                clipped.append(pod)
            for row in body.decode("utf-8", errors="replace").splitlines():
                stamp, _, text = row.partition(" ")
                text = text[:LINE_CHARS]
                if keep is None or keep(text):
                    merged.append(LogLine(pod=pod, timestamp=stamp, text=text))
        merged.sort(key=_sort_key)
        return MergedLogs(
            lines=tuple(merged[-lines:]),
            pods=tuple(pods),
            matched=len(merged),
            clipped_pods=tuple(clipped),
            unread_pods=len(every) - len(pods),
        )
