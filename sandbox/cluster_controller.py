"""The sandbox's deployment controller: one small step per tick, like a very fast real one.

Each tick it makes at most one pod change per deployment (create in the new ReplicaSet,
delete from an old one, or scale), marks pods created on an earlier tick ready, and
recomputes the status fields `kubectl rollout status` reads. That is enough for
rollouts to show progress messages before they succeed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import Any

from sandbox.cluster_store import (
    HASH_LABEL,
    REVISION,
    ObjectStore,
    mark_pod_ready,
    new_pod,
    new_replicaset,
    now_rfc3339,
    pod_ready,
    template_hash,
)

log = logging.getLogger(__name__)


class Controller:
    def __init__(self, store: ObjectStore, step_seconds: float) -> None:
        self._store = store
        self.step_seconds = step_seconds
        self.stalled: set[tuple[str, str]] = set()  # (namespace, name): rollouts that exceed their deadline
        self.held: set[tuple[str, str]] = set()  # (namespace, name): rollouts that progress no further, yet
        self._nodes = itertools.cycle(["sandbox-node-1", "sandbox-node-2", "sandbox-node-3"])
        self._task: asyncio.Task[None] | None = None
        self._seen_pending: set[str] = set()
        self._quiet: tuple[object, ...] | None = None  # the state a tick last changed nothing in

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="sandbox-controller")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                self.reconcile_all()
            except Exception:  # a bug in the fake must not kill the controller silently
                log.exception("sandbox controller step failed")
            await asyncio.sleep(self.step_seconds)

    def reconcile_all(self) -> None:
        # A tick that changed nothing changes nothing again until something does: skipping it keeps an
        # idle cluster from costing CPU every step (tests run hundreds of them side by side).
        before = self._state()
        if before == self._quiet:
            return
        for deployment in self._store.list("deployments"):
            self.reconcile(deployment)
        self._quiet = before if self._state() == before else None

    def _state(self) -> tuple[object, ...]:
        return (
            self._store.resource_version,
            frozenset(self._seen_pending),
            frozenset(self.stalled),
            frozenset(self.held),
        )

    def settle(self, max_steps: int = 200) -> None:
        """Run steps until nothing changes (tests and seeding use this to reach a steady state)."""
        for _ in range(max_steps):
            before = self._store.resource_version
            self.reconcile_all()
            if self._store.resource_version == before:
                return

    def reconcile(self, dep: dict[str, Any]) -> None:
        meta, spec = dep["metadata"], dep["spec"]
        ns = meta["namespace"]
        desired = int(spec.get("replicas", 1))
        paused = bool(spec.get("paused", False))
        stalled = (ns, meta["name"]) in self.stalled
        owned = self._store.owned("replicasets", ns, meta["uid"])
        current_hash = template_hash(spec["template"])
        new_rs = next((rs for rs in owned if rs["metadata"]["labels"].get(HASH_LABEL) == current_hash), None)
        top = max((_revision(rs) for rs in owned), default=0)
        # All a step changes in the deployment: its revision annotation and its status (replaced, not edited).
        # Kept rather than a deep copy of the whole object: the controller runs for every test's cluster.
        annotations_before, status_before = dict(meta.get("annotations", {})), dep.get("status")
        if not paused and new_rs is None:
            new_rs = self._store.put("replicasets", new_replicaset(dep, top + 1))
            owned.append(new_rs)
        elif not paused and new_rs is not None and _revision(new_rs) < top:
            # An undo re-uses the old ReplicaSet and moves it to the newest revision, as the real one does.
            new_rs["metadata"]["annotations"][REVISION] = str(top + 1)
            self._store.put("replicasets", new_rs)
        if new_rs is not None and not paused:
            dep["metadata"].setdefault("annotations", {})[REVISION] = new_rs["metadata"]["annotations"][REVISION]
        target = new_rs or max(owned, key=_revision, default=None)
        pods = {rs["metadata"]["uid"]: self._pods(rs) for rs in owned}
        for rs_pods in pods.values():
            for pod in rs_pods:
                uid = pod["metadata"]["uid"]
                if pod["status"]["phase"] == "Pending" and uid in self._seen_pending:
                    # Created on an earlier tick: it has "started" now.
                    mark_pod_ready(pod)
                    self._seen_pending.discard(uid)
                    self._store.put("pods", pod)
                elif pod["status"]["phase"] == "Pending":
                    self._seen_pending.add(uid)
        if target is not None and not stalled and (ns, meta["name"]) not in self.held:
            self._step(target, owned, pods, desired, paused)
        pods = {rs["metadata"]["uid"]: self._pods(rs) for rs in owned}
        for rs in owned:
            self._set_rs_status(rs, pods[rs["metadata"]["uid"]])
        all_pods = [p for rs_pods in pods.values() for p in rs_pods]
        updated = len(pods[new_rs["metadata"]["uid"]]) if new_rs is not None else 0
        available = sum(1 for p in all_pods if pod_ready(p))
        status: dict[str, Any] = {
            "observedGeneration": meta.get("generation", 1),
            "replicas": len(all_pods),
            "updatedReplicas": updated,
            "readyReplicas": available,
            "availableReplicas": available,
        }
        if len(all_pods) - available > 0:
            status["unavailableReplicas"] = len(all_pods) - available
        status = {k: v for k, v in status.items() if v != 0 or k == "observedGeneration"}
        rs_name = (new_rs or target or {"metadata": {"name": meta["name"]}})["metadata"]["name"]
        complete = updated == desired and len(all_pods) == desired and available == desired
        status["conditions"] = _conditions(
            dep.get("status", {}), desired, available, paused, stalled, complete, rs_name
        )
        dep["status"] = status
        if (meta.get("annotations", {}), status) != (annotations_before, status_before):
            self._store.put("deployments", dep)

    def _step(
        self,
        target: dict[str, Any],
        owned: list[dict[str, Any]],
        pods: dict[str, list[dict[str, Any]]],
        desired: int,
        paused: bool,
    ) -> None:
        mine = pods[target["metadata"]["uid"]]
        old = [p for rs in owned if rs is not target for p in pods[rs["metadata"]["uid"]]]
        if len(mine) < desired and (not paused or not old):
            self._store.put("pods", new_pod(target, next(self._nodes)))
        elif old and not paused and all(pod_ready(p) for p in mine):
            self._store.delete("pods", old[0]["metadata"]["namespace"], old[0]["metadata"]["name"])
        elif len(mine) > desired:
            self._store.delete("pods", mine[-1]["metadata"]["namespace"], mine[-1]["metadata"]["name"])

    def _pods(self, rs: dict[str, Any]) -> list[dict[str, Any]]:
        return self._store.owned("pods", rs["metadata"]["namespace"], rs["metadata"]["uid"])

    def _set_rs_status(self, rs: dict[str, Any], pods: list[dict[str, Any]]) -> None:
        ready = sum(1 for p in pods if pod_ready(p))
        spec_replicas = len(pods)
        status = {"replicas": len(pods), "readyReplicas": ready, "availableReplicas": ready}
        status = {k: v for k, v in status.items() if v}
        status["replicas"] = len(pods)
        if rs["spec"].get("replicas") != spec_replicas or rs.get("status") != status:
            rs["spec"]["replicas"] = spec_replicas
            rs["status"] = status
            self._store.put("replicasets", rs)


def _revision(rs: dict[str, Any]) -> int:
    try:
        return int(rs["metadata"].get("annotations", {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _conditions(
    old_status: dict[str, Any],
    desired: int,
    available: int,
    paused: bool,
    stalled: bool,
    complete: bool,
    rs_name: str,
) -> list[dict[str, Any]]:
    max_unavailable = desired * 25 // 100
    if available >= desired - max_unavailable:
        avail = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    else:
        avail = ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
    if paused:
        prog = ("Unknown", "DeploymentPaused", "Deployment is paused")
    elif stalled:
        prog = ("False", "ProgressDeadlineExceeded", f'ReplicaSet "{rs_name}" has timed out progressing.')
    elif complete:
        prog = ("True", "NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully progressed.')
    else:
        prog = ("True", "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.')
    previous = {c["type"]: c for c in old_status.get("conditions", [])}
    result = []
    for kind, (status, reason, message) in (("Available", avail), ("Progressing", prog)):
        old = previous.get(kind, {})
        same = old.get("status") == status and old.get("reason") == reason
        stamp = old.get("lastTransitionTime") if same else None
        now = now_rfc3339()
        result.append(
            {
                "type": kind,
                "status": status,
                "reason": reason,
                "message": message,
                "lastUpdateTime": old.get("lastUpdateTime", now) if same else now,
                "lastTransitionTime": stamp or now,
            }
        )
    return result
