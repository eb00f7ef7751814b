"""The rest of the runbook's kubectl verbs: pods, top, set env, HPA, ConfigMap, delete pods.

`Kube` is the adapter's public class: deployments and rollouts come from `KubeDeployments`, the
diagnosis reads (events, describe, logs, …) from `KubeTriage`, these come from here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from typing import Any

from bot import errors
from bot.catalog_targets import ConfigMapMaintenance, EnvMaintenance, KubernetesTarget
from bot.k8s import rest, rollouts
from bot.k8s.errors import Op
from bot.k8s.kube import MERGE, STRATEGIC, KubeDeployments, Progress, dry, pod_info
from bot.k8s.models import DeletedPods, HpaChange, PodInfo, PodUsage, ValueChange
from bot.k8s.triage import KubeTriage

# Pods have no watch here (as in kubectl delete --wait, it polls): back off up to this between reads.
REPLACEMENT_POLL_MAX_SECONDS = 1.0


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


class Kube(KubeTriage, KubeDeployments):
    """Every Kubernetes operation of the bot. Build one at the composition root; `close()` at shutdown."""

    async def pods(self, service: KubernetesTarget) -> tuple[PodInfo, ...]:
        selector = service.selector or rollouts.selector_of(await self.read_deployment(service))
        return tuple(pod_info(p) for p in await self.list_pods(service, selector))

    async def top(self, service: KubernetesTarget) -> tuple[PodUsage, ...]:
        """`kubectl top pods -l …` from metrics.k8s.io; a clear error when metrics-server is absent."""
        dep = await self.read_deployment(service)
        selector, t = rollouts.selector_of(dep), self.timeout
        try:
            body = await self.call(
                service,
                Op("list", "pods.metrics.k8s.io", service.namespace, "metrics API", ""),
                lambda api: rest.request_json(
                    api,
                    "GET",
                    rest.path("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods", ns=service.namespace),
                    query={"labelSelector": selector},
                    timeout=t,
                ),
            )
        except errors.NotFoundError as exc:
            raise errors.TargetError("no_metrics_server") from exc
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
            target = errors.Said(
                "k8s_env_target",
                resource=f"deployment/{service.deployment_name}",
                container=chosen["name"],
                variable=variable,
            )
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
            target = errors.Said(
                "k8s_image_target", resource=f"deployment/{service.deployment_name}", container=chosen["name"]
            )
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
            raise errors.UserError("no_hpa_in_catalog", deployment=service.deployment_name)
        if not 1 <= min_replicas <= max_replicas:
            raise errors.UserError("hpa_bounds", low=min_replicas, high=max_replicas)
        name, ns, t = service.hpa, service.namespace, self.timeout
        hpa = rest.path("/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/{name}", ns=ns, name=name)
        before = await self.call(
            service,
            Op("get", "horizontalpodautoscalers", ns, "hpa", name),
            lambda api: rest.request_json(api, "GET", hpa, timeout=t),
        )
        patch = {"spec": {"minReplicas": min_replicas, "maxReplicas": max_replicas}}
        after = await self.call(
            service,
            Op("patch", "horizontalpodautoscalers", ns, "hpa", name),
            lambda api: rest.request_json(
                api,
                "PATCH",
                hpa,
                query={"dryRun": dry(dry_run), "fieldManager": "kubectl-patch"},
                body=patch,
                content_type=STRATEGIC,
                timeout=t,
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
        configmap = rest.path("/api/v1/namespaces/{ns}/configmaps/{name}", ns=ns, name=name)
        current: dict[str, Any] = await self.call(
            service,
            Op("get", "configmaps", ns, "configmap", name),
            lambda api: rest.request_json(api, "GET", configmap, timeout=t),
        )
        before = (current.get("data") or {}).get(key)
        target = errors.Said("k8s_configmap_key_target", resource=f"configmap/{name}", key=key)
        if before == value:
            return ValueChange(target, before, value, no_op=True, dry_run=dry_run)
        result = await self.call(
            service,
            Op("patch", "configmaps", ns, "configmap", name),
            lambda api: rest.request_json(
                api,
                "PATCH",
                configmap,
                query={"dryRun": dry(dry_run), "fieldManager": "kubectl-patch"},
                body={"data": {key: value}},
                content_type=MERGE,
                timeout=t,
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
        body: dict[str, Any] = {"propagationPolicy": "Background"}  # kubectl delete's DeleteOptions
        if dry_run:
            body["dryRun"] = ["All"]
        t, names = self.timeout, []
        for pod in pods:
            name = pod["metadata"]["name"]

            def delete(api: Any, name: str = name) -> None:
                pod = rest.path("/api/v1/namespaces/{ns}/pods/{name}", ns=service.namespace, name=name)
                rest.send(api, "DELETE", pod, body=body, content_type="application/json", timeout=t).read()

            await self.call(service, Op("delete", "pods", service.namespace, "pod", name), delete)
            names.append(name)
        return DeletedPods(names=tuple(names), dry_run=dry_run)

    async def wait_replaced(
        self,
        service: KubernetesTarget,
        deleted: Collection[str],
        *,
        deadline: float,
        on_progress: Progress | None = None,
    ) -> errors.Said:
        """Wait as `kubectl delete pods --wait` then `kubectl rollout status` would: the deleted pods gone,
        then as many Ready pods as the deployment wants and the deployment available again.

        The deployment's own status is not enough: right after the deletes it still counts the old pods.
        Returns the last progress line (how the replacements came up), a phrase of the book.
        """
        loop = asyncio.get_running_loop()
        give_up = loop.time() + deadline
        interval = 0.1
        last: errors.Said | None = None  # the line last reported
        while True:
            dep = await self.read_deployment(service)
            pods = await self.list_pods(service, rollouts.selector_of(dep))
            wanted = int(dep["spec"].get("replicas") or 0)
            remaining = [p for p in pods if p["metadata"]["name"] in deleted]
            ready = [
                info
                for p in pods
                if p["metadata"]["name"] not in deleted and not p["metadata"].get("deletionTimestamp")
                for info in [pod_info(p)]
                if info.phase == "Running" and info.total and info.ready == info.total
            ]
            available = int((dep.get("status") or {}).get("availableReplicas") or 0)
            if remaining:
                message = errors.Said("k8s_pods_going", pods=len(remaining))
            else:
                message = errors.Said("k8s_pods_replaced", ready=len(ready), wanted=wanted)
            if message != last and on_progress is not None:
                await on_progress(message)
            last = message
            if not remaining and len(ready) >= wanted and available >= wanted:
                return message
            if loop.time() + interval > give_up:
                raise errors.TargetError(
                    "pods_not_back", deployment=service.deployment_name, seconds=deadline, status=message
                )
            await asyncio.sleep(interval)
            interval = min(interval * 2, REPLACEMENT_POLL_MAX_SECONDS)

    async def maintenance(self, service: KubernetesTarget, on: bool, *, dry_run: bool = False) -> ValueChange:
        """Maintenance mode as the catalog models it: an env var on the deployment, or a ConfigMap key."""
        value = "true" if on else "false"
        mode = service.maintenance
        if isinstance(mode, EnvMaintenance):
            return await self.set_env(service, mode.variable, value, container=mode.container, dry_run=dry_run)
        if isinstance(mode, ConfigMapMaintenance):
            return await self.configmap_set(service, mode.configmap, mode.key, value, dry_run=dry_run)
        raise errors.UserError("no_maintenance_mode", deployment=service.deployment_name)
