"""The rest of the runbook's kubectl verbs: pods, logs, top, set env, HPA, ConfigMap, delete pods.

`Kube` is the adapter's public class: deployments and rollouts come from `KubeDeployments`,
these come from here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubernetes import client

from bot import errors
from bot.catalog_targets import ConfigMapMaintenance, EnvMaintenance, KubernetesTarget
from bot.k8s import rollouts
from bot.k8s.errors import Op
from bot.k8s.kube import MERGE, STRATEGIC, KubeDeployments, decode, dry, pod_info
from bot.k8s.models import DeletedPods, HpaChange, LogsResult, PodInfo, PodUsage, ValueChange

MAX_LOG_PODS = 5  # kubectl logs -l … --max-log-requests default


def _cpu_millicores(quantity: str) -> int:
    units = {"n": 1e-6, "u": 1e-3, "m": 1.0}
    if quantity and quantity[-1] in units:
        return round(float(quantity[:-1]) * units[quantity[-1]])
    return round(float(quantity or 0) * 1000)


def _memory_mib(quantity: str) -> int:
    units = {
        "Ki": 1 / 1024,
        "Mi": 1.0,
        "Gi": 1024.0,
        "k": 1000 / 1048576,
        "M": 1e6 / 1048576,
        "G": 1e9 / 1048576,
    }
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return round(float(quantity[: -len(suffix)]) * factor)
    return round(float(quantity or 0) / 1048576)


class Kube(KubeDeployments):
    """Every Kubernetes operation of the bot. Build one at the composition root; `close()` at shutdown."""

    async def pods(self, service: KubernetesTarget) -> tuple[PodInfo, ...]:
        selector = service.selector or rollouts.selector_of(await self.read_deployment(service))
        return tuple(pod_info(p) for p in await self.list_pods(service, selector))

    async def logs(
        self,
        service: KubernetesTarget,
        *,
        tail_lines: int | None = 100,
        since_seconds: int | None = None,
        container: str | None = None,
        previous: bool = False,
        max_bytes: int = 64_000,
    ) -> LogsResult:
        """`kubectl logs -l <selector>`: up to 5 pods, each capped, prefixed when more than one."""
        if service.selector:  # label-selected pods: the named container, else the pod's only/default one
            name, selector = container or service.container, service.selector
        else:
            dep = await self.read_deployment(service)
            name = rollouts.pick_container(dep, container or service.container)["name"]
            selector = rollouts.selector_of(dep)
        pods = [p["metadata"]["name"] for p in await self.list_pods(service, selector)]
        chosen = sorted(pods)[:MAX_LOG_PODS]
        per_pod = max(1, max_bytes // max(1, len(chosen)))
        t = self.timeout
        parts: list[str] = []
        for pod in chosen:

            def fetch(api: Any, pod: str = pod) -> bytes:
                resp: Any = client.CoreV1Api(api).read_namespaced_pod_log(
                    pod,
                    service.namespace,
                    container=name,
                    tail_lines=tail_lines,
                    since_seconds=since_seconds,
                    previous=previous or None,
                    limit_bytes=per_pod,
                    _preload_content=False,
                    _request_timeout=t,
                )
                return bytes(resp.data)

            raw = await self.call(service, Op("get", "pods/log", service.namespace, "pod", pod), fetch)
            text = raw.decode("utf-8", errors="replace")
            parts.append("".join(f"[{pod}] {line}\n" for line in text.splitlines()) if len(chosen) > 1 else text)
        text = "".join(parts)
        truncated = len(text.encode()) > max_bytes or len(pods) > len(chosen)
        return LogsResult(
            text=text.encode()[:max_bytes].decode(errors="ignore"), pods=tuple(chosen), truncated=truncated
        )

    async def top(self, service: KubernetesTarget) -> tuple[PodUsage, ...]:
        """`kubectl top pods -l …` from metrics.k8s.io; a clear error when metrics-server is absent."""
        dep = await self.read_deployment(service)
        selector, t = rollouts.selector_of(dep), self.timeout
        try:
            body = await self.call(
                service,
                Op("list", "pods.metrics.k8s.io", service.namespace, "metrics API", ""),
                lambda api: decode(
                    client.CustomObjectsApi(api).list_namespaced_custom_object(
                        "metrics.k8s.io",
                        "v1beta1",
                        service.namespace,
                        "pods",
                        label_selector=selector,
                        _preload_content=False,
                        _request_timeout=t,
                    )
                ),
            )
        except errors.NotFoundError as exc:
            raise errors.TargetError("metrics-server is not installed in this cluster") from exc
        usages = []
        for item in body.get("items") or []:
            containers = item.get("containers") or []
            cpu = sum(_cpu_millicores(str(c.get("usage", {}).get("cpu", "0"))) for c in containers)
            memory = sum(_memory_mib(str(c.get("usage", {}).get("memory", "0"))) for c in containers)
            usages.append(PodUsage(name=item["metadata"]["name"], cpu_millicores=cpu, memory_mib=memory))
        return tuple(sorted(usages, key=lambda u: u.name))

    async def set_env(
        self,
        service: KubernetesTarget,
        variable: str,
        value: str | None,
        *,
        container: str | None = None,
        dry_run: bool = False,
    ) -> ValueChange:
        """`kubectl set env deployment/x [-c C] VAR=value` (or `VAR-` when value is None)."""

        async def attempt() -> ValueChange:
            dep = await self.read_deployment(service)
            chosen = rollouts.pick_container(dep, container or service.container)
            before = rollouts.env_value(chosen, variable)
            target = f"deployment/{service.deployment_name} container {chosen['name']} env {variable}"
            if before == value:
                return ValueChange(target, before, value, no_op=True, dry_run=dry_run)
            patch = rollouts.env_patch(dep, chosen["name"], variable, value)
            result = await self.patch_deployment(service, patch, STRATEGIC, dry_run, "kubectl-set")
            after = rollouts.env_value(rollouts.pick_container(result, chosen["name"]), variable)
            return ValueChange(target, before, after, no_op=False, dry_run=dry_run)

        return await self.retrying(attempt)

    async def set_image(
        self,
        service: KubernetesTarget,
        container: str,
        image_for: Callable[[str], str],
        *,
        dry_run: bool = False,
    ) -> ValueChange:
        """`kubectl set image deployment/x C=IMAGE`, the image computed from the container's current one
        by `image_for` (which refuses what the catalog does not allow)."""

        async def attempt() -> ValueChange:
            dep = await self.read_deployment(service)
            chosen = rollouts.pick_container(dep, container)
            before = str(chosen.get("image", ""))
            image = image_for(before)
            target = f"deployment/{service.deployment_name} container {chosen['name']} image"
            if before == image:
                return ValueChange(target, before, image, no_op=True, dry_run=dry_run)
            containers = dep["spec"]["template"]["spec"].get("containers") or []
            patch = {
                "spec": {
                    "template": {
                        "spec": {
                            "$setElementOrder/containers": [{"name": c.get("name")} for c in containers],
                            "containers": [{"image": image, "name": chosen["name"]}],
                        }
                    }
                }
            }
            result = await self.patch_deployment(service, patch, STRATEGIC, dry_run, "kubectl-set")
            after = str(rollouts.pick_container(result, chosen["name"]).get("image", ""))
            return ValueChange(target, before, after, no_op=False, dry_run=dry_run)

        return await self.retrying(attempt)

    async def hpa_set(
        self, service: KubernetesTarget, *, min_replicas: int, max_replicas: int, dry_run: bool = False
    ) -> HpaChange:
        """`kubectl patch hpa <name> -p '{"spec":{"minReplicas":…,"maxReplicas":…}}'` on autoscaling/v2."""
        if service.hpa is None:
            raise errors.UserError(f"service {service.deployment_name} has no HPA in the catalog (set `hpa:`)")
        if not 1 <= min_replicas <= max_replicas:
            raise errors.UserError(f"need 1 ≤ min ≤ max; got min {min_replicas}, max {max_replicas}")
        name, ns, t = service.hpa, service.namespace, self.timeout
        hpas = client.AutoscalingV2Api
        before = await self.call(
            service,
            Op("get", "horizontalpodautoscalers", ns, "hpa", name),
            lambda api: decode(
                hpas(api).read_namespaced_horizontal_pod_autoscaler(
                    name, ns, _preload_content=False, _request_timeout=t
                )
            ),
        )
        patch = {"spec": {"minReplicas": min_replicas, "maxReplicas": max_replicas}}
        after = await self.call(
            service,
            Op("patch", "horizontalpodautoscalers", ns, "hpa", name),
            lambda api: decode(
                hpas(api).patch_namespaced_horizontal_pod_autoscaler(
                    name,
                    ns,
                    patch,
                    dry_run=dry(dry_run),
                    field_manager="kubectl-patch",
                    _content_type=STRATEGIC,
                    _preload_content=False,
                    _request_timeout=t,
                )
            ),
        )
        b, a = before["spec"], after["spec"]
        return HpaChange(
            name,
            int(b.get("minReplicas", 1)),
            int(b["maxReplicas"]),
            int(a.get("minReplicas", 1)),
            int(a["maxReplicas"]),
            dry_run,
        )

    async def configmap_set(
        self, service: KubernetesTarget, name: str, key: str, value: str, *, dry_run: bool = False
    ) -> ValueChange:
        """`kubectl patch configmap <name> --type merge -p '{"data":{key: value}}'`."""
        ns, t = service.namespace, self.timeout
        core = client.CoreV1Api
        current: dict[str, Any] = await self.call(
            service,
            Op("get", "configmaps", ns, "configmap", name),
            lambda api: decode(
                core(api).read_namespaced_config_map(name, ns, _preload_content=False, _request_timeout=t)
            ),
        )
        before = (current.get("data") or {}).get(key)
        target = f"configmap/{name} key {key}"
        if before == value:
            return ValueChange(target, before, value, no_op=True, dry_run=dry_run)
        result = await self.call(
            service,
            Op("patch", "configmaps", ns, "configmap", name),
            lambda api: decode(
                core(api).patch_namespaced_config_map(
                    name,
                    ns,
                    {"data": {key: value}},
                    dry_run=dry(dry_run),
                    field_manager="kubectl-patch",
                    _content_type=MERGE,
                    _preload_content=False,
                    _request_timeout=t,
                )
            ),
        )
        return ValueChange(target, before, (result.get("data") or {}).get(key), no_op=False, dry_run=dry_run)

    async def delete_pods(
        self, service: KubernetesTarget, selector: str | None = None, *, dry_run: bool = False
    ) -> DeletedPods:
        """`kubectl delete pods -l …`: one DELETE per pod (background), only pods of this deployment."""
        dep = await self.read_deployment(service)
        own = rollouts.selector_of(dep)
        pods = await self.list_pods(service, f"{own},{selector}" if selector else own)
        body = client.V1DeleteOptions(propagation_policy="Background", dry_run=["All"] if dry_run else None)
        t, names = self.timeout, []
        for pod in pods:
            name = pod["metadata"]["name"]

            def delete(api: Any, name: str = name) -> None:
                client.CoreV1Api(api).delete_namespaced_pod(
                    name, service.namespace, body=body, _preload_content=False, _request_timeout=t
                )

            await self.call(service, Op("delete", "pods", service.namespace, "pod", name), delete)
            names.append(name)
        return DeletedPods(names=tuple(names), dry_run=dry_run)

    async def maintenance(self, service: KubernetesTarget, on: bool, *, dry_run: bool = False) -> ValueChange:
        """Maintenance mode as the catalog models it: an env var on the deployment, or a ConfigMap key."""
        value = "true" if on else "false"
        mode = service.maintenance
        if isinstance(mode, EnvMaintenance):
            return await self.set_env(service, mode.variable, value, container=mode.container, dry_run=dry_run)
        if isinstance(mode, ConfigMapMaintenance):
            return await self.configmap_set(service, mode.configmap, mode.key, value, dry_run=dry_run)
        raise errors.UserError(f"service {service.deployment_name} has no maintenance mode in the catalog")
