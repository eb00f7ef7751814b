"""The Kubernetes adapter: every call the bot makes to a cluster, with kubectl's exact requests.

Methods take a catalog KubernetesTarget (context, namespace, deployment) and return frozen
dataclasses from `bot.k8s.models`. Mutations accept `dry_run`, sent as `dryRun=All`, so
previews are the API server's own answer. Raw JSON (bot/k8s/rest.py) is used
instead of the generated models: the logic below reads the same fields kubectl reads,
and unknown fields survive a read-modify-write.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

from bot import errors, metrics
from bot.catalog_targets import KubernetesTarget
from bot.k8s import rest, rollouts, watch
from bot.k8s.clients import ClientPool
from bot.k8s.coalesce import Coalescer
from bot.k8s.errors import ConflictError, Op, translate
from bot.k8s.models import (
    Condition,
    DeploymentStatus,
    PodInfo,
    RestartResult,
    Revision,
    RolloutStatus,
    ScaleResult,
    UndoResult,
)

T = TypeVar("T")
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
Progress = Callable[[errors.Said], Awaitable[None]]
"""Told each new progress line of a wait (kubectl's rollout lines, pods coming back): a phrase of the book."""


def deployment_path(service: KubernetesTarget) -> str:
    return rest.path(
        "/apis/apps/v1/namespaces/{ns}/deployments/{name}", ns=service.namespace, name=service.deployment_name
    )


def dry(dry_run: bool) -> str | None:
    return "All" if dry_run else None


def rfc3339(moment: datetime) -> str:
    """Go's time.RFC3339 for a UTC time (…Z), the format kubectl writes into restartedAt."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def age_seconds(obj: dict[str, Any]) -> int:
    stamp = obj["metadata"].get("creationTimestamp")
    if not stamp:
        return 0
    created = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return max(0, int((datetime.now(UTC) - created).total_seconds()))


def pod_info(pod: dict[str, Any]) -> PodInfo:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return PodInfo(
        name=pod["metadata"]["name"],
        ready=sum(1 for s in statuses if s.get("ready")),
        total=len(pod.get("spec", {}).get("containers") or statuses),
        phase=str(pod.get("status", {}).get("phase", "Unknown")),
        restarts=sum(int(s.get("restartCount", 0)) for s in statuses),
        age_seconds=age_seconds(pod),
        node=str(pod.get("spec", {}).get("nodeName", "")),
        template_hash=str((pod["metadata"].get("labels") or {}).get(rollouts.HASH_LABEL, "")),
    )


def call_status(exc: BaseException) -> str:
    """The metrics label of a failed API call: the HTTP status, `timeout` or `error`."""
    if isinstance(exc, ApiException) and exc.status:
        return str(int(exc.status))
    timeouts = (urllib3.exceptions.TimeoutError, TimeoutError)
    if isinstance(exc, timeouts) or (
        isinstance(exc, urllib3.exceptions.MaxRetryError) and isinstance(exc.reason, timeouts)
    ):
        return "timeout"
    return "error"


class KubeCore:
    """Client pool, timeouts, error translation and the deployment reads shared by every method."""

    def __init__(
        self,
        *,
        kubeconfig: Path | None,
        timeout: float,
        max_workers: int = 8,
        conflict_retries: int = 3,
        conflict_backoff: float = 0.1,
    ) -> None:
        self._pool = ClientPool(kubeconfig, max_workers=max_workers)
        self.timeout = timeout
        self._status_reads: Coalescer[DeploymentStatus] = Coalescer()
        self._conflict_retries = conflict_retries
        self._conflict_backoff = conflict_backoff

    def close(self) -> None:
        """Shut the clients and the executor down (at application shutdown)."""
        self._pool.close()

    async def call(self, service: KubernetesTarget, op: Op, fn: Callable[[Any], T]) -> T:
        try:
            result = await self._pool.run(service.context, fn)
        except errors.BotError:
            metrics.KUBE_API_CALLS.labels(verb=op.verb, status="error").inc()
            raise
        except Exception as exc:  # every library error becomes one of ours, with the operation named
            metrics.KUBE_API_CALLS.labels(verb=op.verb, status=call_status(exc)).inc()
            raise translate(exc, op, self.timeout) from exc
        metrics.KUBE_API_CALLS.labels(verb=op.verb, status="ok").inc()
        return result

    async def retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run a read-then-write `attempt`, re-running it on 409 Conflict with exponential backoff."""
        for i in range(self._conflict_retries):
            try:
                return await attempt()
            except ConflictError:
                await asyncio.sleep(self._conflict_backoff * 2**i)
        return await attempt()

    def op(self, service: KubernetesTarget, verb: str, resource: str = "deployments", kind: str = "deployment") -> Op:
        return Op(verb, resource, service.namespace, kind, service.deployment_name)

    async def read_deployment(self, service: KubernetesTarget) -> dict[str, Any]:
        t = self.timeout
        result: dict[str, Any] = await self.call(
            service,
            self.op(service, "get"),
            lambda api: rest.request_json(api, "GET", deployment_path(service), timeout=t),
        )
        return result

    async def list_pods(self, service: KubernetesTarget, selector: str) -> list[dict[str, Any]]:
        t = self.timeout
        body = await self.call(
            service,
            Op("list", "pods", service.namespace, "pods", ""),
            lambda api: rest.request_json(
                api,
                "GET",
                rest.path("/api/v1/namespaces/{ns}/pods", ns=service.namespace),
                query={"labelSelector": selector},
                timeout=t,
            ),
        )
        return list(body.get("items") or [])

    async def list_deployment(self, service: KubernetesTarget) -> dict[str, Any]:
        """The deployment as a one-item list (kubectl's `fieldSelector=metadata.name=…`), with the list's
        resourceVersion to watch from."""
        t = self.timeout
        result: dict[str, Any] = await self.call(
            service,
            self.op(service, "list"),
            lambda api: rest.request_json(
                api,
                "GET",
                rest.path("/apis/apps/v1/namespaces/{ns}/deployments", ns=service.namespace),
                query={"fieldSelector": f"metadata.name={service.deployment_name}"},
                timeout=t,
            ),
        )
        return result

    async def watch_deployment(
        self, service: KubernetesTarget, resource_version: str, seconds: int
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Watch events of the deployment after `resource_version`, for up to `seconds` (the server ends it)."""
        op = self.op(service, "watch")
        query: rest.Query = {
            "allowWatchBookmarks": True,
            "fieldSelector": f"metadata.name={service.deployment_name}",
            "resourceVersion": resource_version,
            "timeoutSeconds": seconds,
            "watch": True,
        }
        resource = rest.path("/apis/apps/v1/namespaces/{ns}/deployments", ns=service.namespace)
        # The read timeout covers the quiet stretches of a watch: the server closes it after `seconds`.
        timeout = (self.timeout, seconds + self.timeout)
        status = "ok"
        try:
            async for event in watch.events(
                lambda read: self._pool.run_watch(service.context, read),
                lambda api: rest.send(api, "GET", resource, query=query, timeout=timeout),
            ):
                yield event
        except Exception as exc:  # every library error becomes one of ours, with the operation named
            status = call_status(exc)
            raise translate(exc, op, self.timeout) from exc
        finally:
            metrics.KUBE_API_CALLS.labels(verb=op.verb, status=status).inc()

    async def patch_deployment(
        self, service: KubernetesTarget, body: Any, content_type: str, dry_run: bool, field_manager: str | None
    ) -> dict[str, Any]:
        t = self.timeout
        result: dict[str, Any] = await self.call(
            service,
            self.op(service, "patch"),
            lambda api: rest.request_json(
                api,
                "PATCH",
                deployment_path(service),
                query={"dryRun": dry(dry_run), "fieldManager": field_manager},
                body=body,
                content_type=content_type,
                timeout=t,
            ),
        )
        return result


class KubeDeployments(KubeCore):
    """Status, scale and the rollout family: the deployment-level verbs of kubectl."""

    async def deployment_status(self, service: KubernetesTarget, *, max_age: float = 0.0) -> DeploymentStatus:
        """The deployment and its pods; with max_age, identical concurrent reads share one API call."""
        if max_age <= 0:
            return await self._read_status(service)
        key = (service.context, service.namespace, service.deployment_name)
        return await self._status_reads.get(key, max_age, lambda: self._read_status(service))

    async def _read_status(self, service: KubernetesTarget) -> DeploymentStatus:
        dep = await self.read_deployment(service)
        pods = await self.list_pods(service, rollouts.selector_of(dep))
        spec, status = dep.get("spec", {}), dep.get("status", {})
        conditions = tuple(
            Condition(str(c.get("type")), str(c.get("status")), str(c.get("reason", "")), str(c.get("message", "")))
            for c in status.get("conditions") or []
        )
        return DeploymentStatus(
            namespace=service.namespace,
            name=service.deployment_name,
            desired=int(spec.get("replicas", 1)),
            updated=int(status.get("updatedReplicas", 0)),
            ready=int(status.get("readyReplicas", 0)),
            available=int(status.get("availableReplicas", 0)),
            generation=int(dep["metadata"].get("generation", 0)),
            observed_generation=int(status.get("observedGeneration", 0)),
            paused=bool(spec.get("paused", False)),
            revision=rollouts.revision_of(dep),
            images=rollouts.images_of(spec.get("template", {})),
            conditions=conditions,
            pods=tuple(pod_info(p) for p in pods),
        )

    async def scale(
        self, service: KubernetesTarget, replicas: int, *, dry_run: bool = False, expect_before: int | None = None
    ) -> ScaleResult:
        """`kubectl scale`: GET the deployment, then a merge patch of the scale subresource.

        With `expect_before` (the replicas a preview saw), nothing is patched unless the GET still reads
        that many, like `kubectl scale --current-replicas`.
        """
        if replicas < 0:
            raise errors.UserError("negative_replicas")
        t = self.timeout

        async def attempt() -> ScaleResult:
            before = int((await self.read_deployment(service))["spec"].get("replicas", 1))
            if expect_before is not None and before != expect_before:
                raise errors.ChangedSincePreview(
                    [errors.Said("drift_changed", what="replicas", then=expect_before, now=before)]
                )
            scale = await self.call(
                service,
                self.op(service, "patch", "deployments/scale"),
                lambda api: rest.request_json(
                    api,
                    "PATCH",
                    deployment_path(service) + "/scale",
                    query={"dryRun": dry(dry_run)},
                    body={"spec": {"replicas": replicas}},
                    content_type=MERGE,
                    timeout=t,
                ),
            )
            return ScaleResult(before=before, after=int(scale["spec"]["replicas"]), dry_run=dry_run)

        return await self.retrying(attempt)

    async def rollout_restart(
        self, service: KubernetesTarget, *, dry_run: bool = False, now: datetime | None = None
    ) -> RestartResult:
        """`kubectl rollout restart`: a strategic-merge patch of the restartedAt template annotation."""
        dep = await self.read_deployment(service)
        if dep["spec"].get("paused"):
            raise errors.TargetError("restart_paused", deployment=service.deployment_name)
        stamp = rfc3339(now or datetime.now(UTC))
        patch = rollouts.restart_patch(stamp)
        await self.retrying(lambda: self.patch_deployment(service, patch, STRATEGIC, dry_run, "kubectl-rollout"))
        return RestartResult(restarted_at=stamp, revision=rollouts.revision_of(dep), dry_run=dry_run)

    async def rollout_status(
        self, service: KubernetesTarget, *, deadline: float, on_progress: Progress | None = None
    ) -> RolloutStatus:
        """`kubectl rollout status`: list the deployment, then watch it until the rollout is done.

        Each new status message is reported; TargetError at the deadline, when the progress deadline
        is exceeded or when the deployment is deleted. A watch the server ends is resumed by listing
        again (a 410 Gone included), so no change is missed between two watches.
        """
        loop = asyncio.get_running_loop()
        give_up = loop.time() + deadline
        last: errors.Said | None = None

        async def seen(dep: dict[str, Any]) -> RolloutStatus | None:
            nonlocal last
            message, done = rollouts.status_message(dep)
            if message != last and on_progress is not None:
                await on_progress(message)
            last = message
            return RolloutStatus(message=message, revision=rollouts.revision_of(dep)) if done else None

        try:
            async with asyncio.timeout_at(give_up):
                while True:
                    listed = await self.list_deployment(service)
                    items = listed.get("items") or []
                    if not items:
                        raise errors.NotFoundError(
                            "k8s_not_found",
                            kind="deployment",
                            name=service.deployment_name,
                            namespace=service.namespace,
                        )
                    if (finished := await seen(items[0])) is not None:
                        return finished
                    since = str(listed.get("metadata", {}).get("resourceVersion", ""))
                    seconds = max(1, math.ceil(give_up - loop.time()))
                    async with contextlib.aclosing(self.watch_deployment(service, since, seconds)) as stream:
                        async for event in stream:
                            kind = event.get("type")
                            if kind == "DELETED":
                                raise errors.TargetError("deleted_during_rollout", deployment=service.deployment_name)
                            if kind == "ERROR":  # e.g. 410 Gone: the resourceVersion is too old, list again
                                break
                            if kind in ("ADDED", "MODIFIED") and (finished := await seen(event["object"])) is not None:
                                return finished
        except TimeoutError:
            if loop.time() < give_up:
                raise
            raise errors.TargetError(
                "rollout_unfinished", deployment=service.deployment_name, seconds=deadline, status=last
            ) from None

    async def _owned_replicasets(self, service: KubernetesTarget, dep: dict[str, Any]) -> list[dict[str, Any]]:
        t = self.timeout
        selector = rollouts.selector_of(dep)
        body = await self.call(
            service,
            Op("list", "replicasets", service.namespace, "replicasets", ""),
            lambda api: rest.request_json(
                api,
                "GET",
                rest.path("/apis/apps/v1/namespaces/{ns}/replicasets", ns=service.namespace),
                query={"labelSelector": selector},
                timeout=t,
            ),
        )
        return rollouts.owned_replicasets(dep, list(body.get("items") or []))

    async def rollout_history(self, service: KubernetesTarget) -> tuple[Revision, ...]:
        dep = await self.read_deployment(service)
        current = rollouts.revision_of(dep)
        return tuple(
            Revision(
                number=rollouts.revision_of(rs),
                change_cause=str((rs["metadata"].get("annotations") or {}).get(rollouts.CHANGE_CAUSE, "")),
                images=rollouts.images_of(rs["spec"]["template"]),
                current=rollouts.revision_of(rs) == current,
            )
            for rs in await self._owned_replicasets(service, dep)
        )

    async def rollout_undo(
        self, service: KubernetesTarget, *, to_revision: int | None = None, dry_run: bool = False
    ) -> UndoResult:
        """`kubectl rollout undo`: the chosen ReplicaSet's template, as kubectl's JSON patch."""

        async def attempt() -> UndoResult:
            dep = await self.read_deployment(service)
            if dep["spec"].get("paused"):
                raise errors.TargetError("undo_paused", deployment=service.deployment_name)
            target = rollouts.choose_revision(dep, await self._owned_replicasets(service, dep), to_revision)
            before = rollouts.images_of(dep["spec"]["template"])
            after = rollouts.images_of(target["spec"]["template"])
            common = {"from_revision": rollouts.revision_of(dep), "to_revision": rollouts.revision_of(target)}
            if rollouts.already_at(dep, target):
                return UndoResult(**common, images_before=before, images_after=after, no_op=True, dry_run=dry_run)
            await self.patch_deployment(service, rollouts.undo_patch(dep, target), JSON_PATCH, dry_run, None)
            return UndoResult(**common, images_before=before, images_after=after, no_op=False, dry_run=dry_run)

        return await self.retrying(attempt)
