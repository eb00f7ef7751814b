"""A fake Kubernetes API server on loopback, shared by tests, `runbook-bot shell` and benchmarks.

Real HTTP (aiohttp) so the bot's real client and a real kubectl talk to it unchanged.
It records every request (for golden traces against kubectl), can inject faults
(status codes, delays) on chosen paths, and runs a tiny deployment controller so
scale, restart and undo move pods and status the way a real cluster does.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from bot.catalog import Catalog, ConfigMapMaintenance, EnvMaintenance
from sandbox import cluster_triage
from sandbox.cluster_controller import Controller
from sandbox.cluster_http import ApiServer, status_error
from sandbox.cluster_store import ObjectStore, new_deployment

DEFAULT_CONTEXT = "sandbox"
REASONS = {403: "Forbidden", 404: "NotFound", 409: "Conflict", 429: "TooManyRequests", 500: "InternalError"}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; `body` is parsed JSON when the body was JSON."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str | None
    body: Any


@dataclass
class Fault:
    method: str | None
    path: str
    status: int | None
    delay: float
    remaining: int


class SandboxCluster:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, step_seconds: float = 0.2) -> None:
        self._host, self._port = host, port
        self.store = ObjectStore()
        self.controller = Controller(self.store, step_seconds)
        self._server = ApiServer(self.store, self.controller)
        self.requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application(middlewares=[self._middleware])
        app.add_routes(self._server.routes())
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{self._host}:{port}"
        self._server.server_address = f"{self._host}:{port}"
        self._server.closing.clear()
        self.controller.start()
        return self.url

    async def stop(self) -> None:
        self._server.closing.set()  # ends open watches
        await self.controller.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SandboxCluster:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # -- seeding -----------------------------------------------------------------------------
    def seed_from_catalog(self, catalog: Catalog, replicas: int = 3) -> None:
        """A deployment (revision 1, settled pods) per service, plus its ConfigMap and HPA."""
        for service in catalog.services.values():
            target = service.kubernetes
            if target is None or target.deployment is None:
                continue
            ns = target.namespace
            count = max(service.replicas.min, min(replicas, service.replicas.max))
            env = []
            if isinstance(target.maintenance, EnvMaintenance):
                env.append({"name": target.maintenance.variable, "value": "false"})
            self.add_deployment(ns, target.deployment, target.container or "app", count, env)
            if isinstance(target.maintenance, ConfigMapMaintenance):
                cm = self.store.get("configmaps", ns, target.maintenance.configmap)
                data = dict(cm["data"]) if cm else {}
                data.setdefault(target.maintenance.key, "false")
                self.add_configmap(ns, target.maintenance.configmap, data)
            if target.hpa:
                self.add_hpa(ns, target.hpa, target.deployment, service.replicas.min, service.replicas.max)
        self.controller.settle()

    def seed_components(self, catalog: Catalog) -> None:
        """Workloads of the services' components (runbook 000's ingestion, websocket, auth, export).
        A label-selected component gets pods carrying its labels, from a Deployment of its own."""
        for name, service in catalog.services.items():
            for component, spec in service.components.items():
                workload = spec.resolve(service.kubernetes)
                labels = dict(pair.split("=", 1) for pair in (workload.selector or "").split(",") if "=" in pair)
                deployment = workload.deployment or f"{name}-{component}"
                container = workload.container or component
                self.store.put(
                    "deployments", new_deployment(workload.namespace, deployment, container, 2, None, labels)
                )
        self.controller.settle()

    def seed_triage(self, catalog: Catalog, crashing_service: str = "email-dashboard") -> None:
        """Nodes, Services, Endpoints, Ingresses, events and HPA metrics, and one crash-looping pod
        (after `seed_from_catalog`; see sandbox/cluster_triage.py)."""
        cluster_triage.seed_triage(self.store, catalog, crashing_service)

    def add_deployment(
        self,
        ns: str,
        name: str,
        container: str = "app",
        replicas: int = 3,
        env: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        dep = self.store.put("deployments", new_deployment(ns, name, container, replicas, env))
        self.controller.settle()
        return dep

    def add_configmap(self, ns: str, name: str, data: dict[str, str]) -> None:
        meta = {"name": name, "namespace": ns}
        self.store.put("configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data})

    def add_hpa(self, ns: str, name: str, deployment: str, low: int, high: int) -> None:
        target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment}
        spec = {"scaleTargetRef": target, "minReplicas": low, "maxReplicas": high, "metrics": []}
        hpa = {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": ns, "generation": 1},
            "spec": spec,
            "status": {"currentReplicas": low, "desiredReplicas": low},
        }
        self.store.put("horizontalpodautoscalers", hpa)

    def write_kubeconfig(self, path: Path, contexts: Iterable[str] = ()) -> Path:
        """A kubeconfig with `sandbox` (current) and every named context, all pointing here."""
        names = [DEFAULT_CONTEXT, *sorted({c for c in contexts if c and c != DEFAULT_CONTEXT})]
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "sandbox", "cluster": {"server": self.url}}],
            "users": [{"name": "sandbox", "user": {"token": "sandbox-token"}}],
            "contexts": [{"name": n, "context": {"cluster": "sandbox", "user": "sandbox"}} for n in names],
            "current-context": DEFAULT_CONTEXT,
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return path

    @staticmethod
    def catalog_contexts(catalog: Catalog) -> list[str]:
        return [s.kubernetes.context for s in catalog.services.values() if s.kubernetes and s.kubernetes.context]

    # -- inspectors and knobs for tests ------------------------------------------------------
    def deployment(self, ns: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(self._must("deployments", ns, name))

    def replicasets(self, ns: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self.store.list("replicasets", ns))

    def pods(self, ns: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self.store.list("pods", ns))

    def configmap(self, ns: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(self._must("configmaps", ns, name))

    def hpa(self, ns: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(self._must("horizontalpodautoscalers", ns, name))

    def _must(self, plural: str, ns: str, name: str) -> dict[str, Any]:
        obj = self.store.get(plural, ns, name)
        if obj is None:
            raise KeyError(f"{plural} {ns}/{name}")
        return obj

    def set_paused(self, ns: str, name: str, paused: bool) -> None:
        dep = self._must("deployments", ns, name)
        dep["spec"]["paused"] = paused
        dep["metadata"]["generation"] = int(dep["metadata"].get("generation", 1)) + 1
        self.store.put("deployments", dep)

    def stall_rollouts(self, ns: str, name: str, stalled: bool = True) -> None:
        """Make this deployment's rollouts stop and report ProgressDeadlineExceeded."""
        (self.controller.stalled.add if stalled else self.controller.stalled.discard)((ns, name))

    def hold_rollouts(self, ns: str, name: str, held: bool = True) -> None:
        """Make this deployment's rollouts wait (a slow rollout: no progress, no deadline exceeded yet)."""
        (self.controller.held.add if held else self.controller.held.discard)((ns, name))

    def set_metrics_enabled(self, enabled: bool) -> None:
        self._server.metrics_enabled = enabled

    def set_log_lines(self, lines: list[str] | None) -> None:
        """Make every container log these lines (None: the default access-log lines)."""
        self._server.log_lines = lines

    def settle(self) -> None:
        self.controller.settle()

    async def wait_until(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            while not predicate():
                await self.store.wait_for_change(0.05)

    def inject_fault(
        self,
        path: str,
        *,
        status: int | None = None,
        delay: float = 0.0,
        times: int = 1,
        method: str | None = None,
    ) -> None:
        """The next `times` requests whose path ends with `path` get `status` (after `delay` seconds)."""
        self._faults.append(Fault(method, path, status, delay, times))

    def clear(self) -> None:
        """Forget recorded requests and pending faults (between tests)."""
        self.requests.clear()
        self._faults.clear()

    def requests_to(self, path_part: str, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if path_part in r.path and (method is None or r.method == method)]

    # -- middleware --------------------------------------------------------------------------
    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        raw = await request.read() if request.body_exists else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        content_type = request.headers.get("Content-Type")
        self.requests.append(RecordedRequest(request.method, request.path, dict(request.query), content_type, body))
        fault = next(
            (
                f
                for f in self._faults
                if f.remaining > 0 and request.path.endswith(f.path) and f.method in (None, request.method)
            ),
            None,
        )
        if fault is not None:
            fault.remaining -= 1
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                reason = REASONS.get(fault.status, "InternalError")
                return status_error(fault.status, reason, f"injected {fault.status} for {request.path}")
        return await handler(request)
