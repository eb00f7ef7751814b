"""The sandbox API server's HTTP surface (aiohttp): generic namespaced CRUD plus the special paths.

Routes are generic over the resource table in `cluster_store`; the special cases are the
`deployments/{name}/scale` subresource, `pods/{name}/log` and the metrics API.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import time
from typing import Any

from aiohttp import web

from sandbox import cluster_discovery as discovery
from sandbox.cluster_controller import Controller
from sandbox.cluster_patch import PATCH_TYPES, PatchError, apply_patch, compile_selector, selector_string
from sandbox.cluster_store import RESOURCE_BY_PLURAL, ObjectStore, ResourceType, now_rfc3339
from sandbox.cluster_triage import field_value, pod_log_lines

JSON = "application/json"


def status_error(code: int, reason: str, message: str) -> web.Response:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
    }
    body.update({"reason": reason, "code": code})
    return web.json_response(body, status=code)


def _not_found(rtype: ResourceType, name: str) -> web.Response:
    group = rtype.group_version.split("/")[0] if "/" in rtype.group_version else ""
    qualified = f"{rtype.plural}.{group}" if group else rtype.plural
    return status_error(404, "NotFound", f'{qualified} "{name}" not found')


class ApiServer:
    """Request handlers; the SandboxCluster owns the store, controller and aiohttp app."""

    def __init__(self, store: ObjectStore, controller: Controller) -> None:
        self.store = store
        self.controller = controller
        self.metrics_enabled = True
        self.log_lines: list[str] | None = None  # what every container logs, when a test sets it
        self.server_address = "127.0.0.1:0"
        self.closing = asyncio.Event()

    def routes(self) -> list[web.RouteDef]:
        prefixes = ["/api/{version}", "/apis/{group}/{version}"]
        routes = [
            web.get("/version", self.version),
            web.get("/api", self.api),
            web.get("/apis", self.apis),
            web.get("/api/{version}", self.resources),
            web.get("/apis/{group}/{version}", self.resources),
        ]
        for prefix in prefixes:
            base = prefix + "/namespaces/{ns}/{plural}"
            routes += [
                web.get(base, self.list_objects),
                web.get(base + "/{name}", self.get_object),
                web.patch(base + "/{name}", self.patch_object),
                web.delete(base + "/{name}", self.delete_object),
                web.get(base + "/{name}/{sub}", self.get_sub),
                web.patch(base + "/{name}/{sub}", self.patch_sub),
            ]
        # Cluster-scoped kinds (nodes), after the namespaced routes so `namespaces/x/...` never lands here.
        routes += [
            web.get("/api/{version}/{plural}", self.list_objects),
            web.get("/api/{version}/{plural}/{name}", self.get_object),
        ]
        return routes

    # -- discovery ---------------------------------------------------------------------------
    async def version(self, _: web.Request) -> web.Response:
        return web.json_response(discovery.VERSION)

    async def api(self, _: web.Request) -> web.Response:
        return web.json_response(discovery.api_versions(self.server_address))

    async def apis(self, _: web.Request) -> web.Response:
        return web.json_response(discovery.api_group_list(self.metrics_enabled))

    async def resources(self, request: web.Request) -> web.Response:
        gv = _group_version(request)
        if gv == discovery.METRICS_GV and not self.metrics_enabled:
            return status_error(404, "NotFound", "the server could not find the requested resource")
        doc = discovery.resource_list(gv)
        if doc is None:
            return status_error(404, "NotFound", "the server could not find the requested resource")
        return web.json_response(doc)

    # -- generic verbs -----------------------------------------------------------------------
    def _rtype(self, request: web.Request) -> ResourceType | None:
        return RESOURCE_BY_PLURAL.get((_group_version(request), request.match_info["plural"]))

    async def list_objects(self, request: web.Request) -> web.StreamResponse:
        ns, plural = request.match_info.get("ns", ""), request.match_info["plural"]
        if _group_version(request) == discovery.METRICS_GV:
            return self._pod_metrics(request, ns)
        rtype = self._rtype(request)
        if rtype is None:
            return status_error(404, "NotFound", "the server could not find the requested resource")
        if "ns" not in request.match_info and rtype.namespaced:  # `-A`: every namespace
            items = self._select(request, self.store.list(plural))
            return web.json_response(
                {"kind": f"{rtype.kind}List", "apiVersion": rtype.group_version, "metadata": {}, "items": items}
            )
        if request.query.get("watch") in ("true", "1"):
            return await self._watch(request, rtype, ns)
        items = self._select(request, self.store.list(plural, ns))
        if "as=Table" in request.headers.get("Accept", ""):
            whole = request.query.get("includeObject") == "Object"
            return web.json_response(discovery.table(plural, items, self.store.resource_version, include_object=whole))
        return web.json_response(
            {
                "kind": f"{rtype.kind}List",
                "apiVersion": rtype.group_version,
                "metadata": {"resourceVersion": self.store.resource_version},
                "items": items,
            }
        )

    def _select(self, request: web.Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        labels = request.query.get("labelSelector", "")
        fields = request.query.get("fieldSelector", "")
        matches = compile_selector(labels)
        out = [o for o in items if matches(o["metadata"].get("labels", {}))]
        for term in (t for t in fields.split(",") if t):
            key, _, value = term.partition("=")
            negate = key.endswith("!")
            key, value = key.rstrip("!"), value.lstrip("=")
            out = [o for o in out if (field_value(o, key) == value) != negate]
        return out

    async def _watch(self, request: web.Request, rtype: ResourceType, ns: str) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": JSON})
        await response.prepare(request)
        since = int(request.query.get("resourceVersion") or 0)
        deadline = time.monotonic() + float(request.query.get("timeoutSeconds") or 1800)
        sent: dict[str, str] = {}
        present: dict[str, dict[str, Any]] = {}  # what the watcher may know of, to tell it of deletions
        while not self.closing.is_set() and time.monotonic() < deadline:
            current = {o["metadata"]["name"]: o for o in self._select(request, self.store.list(rtype.plural, ns))}
            events = [{"type": "DELETED", "object": present[name]} for name in present.keys() - current.keys()]
            for name, obj in current.items():
                rv = obj["metadata"]["resourceVersion"]
                if int(rv) > since and sent.get(name) != rv:
                    sent[name] = rv
                    events.append({"type": "MODIFIED", "object": obj})
            present = current
            try:
                for event in events:
                    await response.write(json.dumps(event).encode() + b"\n")
            except ConnectionResetError:  # the client stopped watching; that is normal
                return response
            await self.store.wait_for_change(0.2)
        return response

    async def get_object(self, request: web.Request) -> web.Response:
        rtype, obj = self._lookup(request)
        if rtype is None:
            return status_error(404, "NotFound", "the server could not find the requested resource")
        if obj is None:
            return _not_found(rtype, request.match_info["name"])
        if "as=Table" in request.headers.get("Accept", ""):
            return web.json_response(discovery.table(rtype.plural, [obj], self.store.resource_version))
        return web.json_response(obj)

    def _lookup(self, request: web.Request) -> tuple[ResourceType | None, dict[str, Any] | None]:
        rtype = self._rtype(request)
        if rtype is None:
            return None, None
        m = request.match_info
        return rtype, self.store.get(rtype.plural, m.get("ns", ""), m["name"])

    async def patch_object(self, request: web.Request) -> web.Response:
        rtype, obj = self._lookup(request)
        if rtype is None or "patch" not in rtype.verbs:
            return status_error(405, "MethodNotAllowed", "the server does not allow this method")
        if obj is None:
            return _not_found(rtype, request.match_info["name"])
        patched = await self._patched(request, obj)
        if isinstance(patched, web.Response):
            return patched
        if patched.get("spec") != obj.get("spec"):
            patched["metadata"]["generation"] = int(obj["metadata"].get("generation", 1)) + 1
        problem = _validate(rtype, patched)
        if problem:
            return status_error(422, "Invalid", problem)
        if _dry_run(request):
            return web.json_response(patched)
        return web.json_response(self.store.put(rtype.plural, patched))

    async def _patched(self, request: web.Request, obj: dict[str, Any]) -> dict[str, Any] | web.Response:
        content_type = request.content_type
        if content_type not in PATCH_TYPES:
            return status_error(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format: {content_type}",
            )
        try:
            patch = json.loads(await request.text())
            patched = apply_patch(obj, patch, content_type)
        except (ValueError, PatchError) as exc:
            return status_error(422, "Invalid", f"cannot apply patch: {exc}")
        for key in ("name", "namespace", "uid", "creationTimestamp", "resourceVersion"):
            patched["metadata"][key] = obj["metadata"][key]
        return patched

    async def delete_object(self, request: web.Request) -> web.Response:
        rtype, obj = self._lookup(request)
        if rtype is None or "delete" not in rtype.verbs:
            return status_error(405, "MethodNotAllowed", "the server does not allow this method")
        if obj is None:
            return _not_found(rtype, request.match_info["name"])
        options = await request.json() if request.body_exists else {}
        if _dry_run(request) or "All" in (options or {}).get("dryRun", []):  # kubectl puts it in the body
            return web.json_response(obj)
        deleted = self.store.delete(rtype.plural, request.match_info["ns"], request.match_info["name"])
        return web.json_response(deleted)

    # -- subresources ------------------------------------------------------------------------
    async def get_sub(self, request: web.Request) -> web.Response:
        rtype, obj = self._lookup(request)
        sub = request.match_info["sub"]
        if rtype is None or obj is None:
            return _not_found(rtype or RESOURCE_BY_PLURAL[("v1", "pods")], request.match_info["name"])
        if rtype.plural == "deployments" and sub == "scale":
            return web.json_response(_scale_of(obj))
        if rtype.plural == "deployments" and sub == "status":
            return web.json_response(obj)
        if rtype.plural == "pods" and sub == "log":
            return self._log(request, obj)
        return status_error(404, "NotFound", "the server could not find the requested resource")

    async def patch_sub(self, request: web.Request) -> web.Response:
        rtype, obj = self._lookup(request)
        if rtype is None or rtype.plural != "deployments" or request.match_info["sub"] != "scale":
            return status_error(404, "NotFound", "the server could not find the requested resource")
        if obj is None:
            return _not_found(rtype, request.match_info["name"])
        scale = await self._patched(request, _scale_of(obj))
        if isinstance(scale, web.Response):
            return scale
        replicas = scale.get("spec", {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            return status_error(422, "Invalid", "spec.replicas: must be greater than or equal to 0")
        updated = copy.deepcopy(obj)
        if updated["spec"].get("replicas") != replicas:
            updated["spec"]["replicas"] = replicas
            updated["metadata"]["generation"] = int(obj["metadata"].get("generation", 1)) + 1
        if not _dry_run(request):
            updated = self.store.put("deployments", updated)
        return web.json_response(_scale_of(updated))

    def _log(self, request: web.Request, pod: dict[str, Any]) -> web.Response:
        names = [c["name"] for c in pod["spec"]["containers"]]
        container = request.query.get("container") or names[0]
        if container not in names:
            message = f"container {container} is not valid for pod {pod['metadata']['name']}"
            return status_error(400, "BadRequest", message)
        previous = request.query.get("previous") in ("true", "1")
        last_state = next(
            (s.get("lastState") for s in pod["status"].get("containerStatuses", []) if s["name"] == container), None
        )
        if previous and not last_state:
            message = f'previous terminated container "{container}" in pod "{pod["metadata"]["name"]}" not found'
            return status_error(400, "BadRequest", message)
        lines = pod_log_lines(pod["metadata"]["name"], container, self.log_lines, previous=previous)
        since = request.query.get("sinceSeconds")
        if since is not None:
            lines = [line for line in lines if line.age_seconds <= int(since)]
        tail = request.query.get("tailLines")
        if tail is not None:
            lines = lines[-int(tail) :] if int(tail) > 0 else []
        stamped = request.query.get("timestamps") in ("true", "1")
        body = "".join((f"{line.stamp} " if stamped else "") + line.text + "\n" for line in lines).encode()
        limit = request.query.get("limitBytes")
        if limit is not None:
            body = body[: int(limit)]
        return web.Response(body=body, content_type="text/plain")

    def _pod_metrics(self, request: web.Request, ns: str) -> web.Response:
        if not self.metrics_enabled or request.match_info["plural"] != "pods":
            return status_error(404, "NotFound", "the server could not find the requested resource")
        items = []
        for pod in self._select(request, self.store.list("pods", ns)):
            seed = int(hashlib.sha256(pod["metadata"]["name"].encode()).hexdigest()[:6], 16)
            usage = [
                {
                    "name": c["name"],
                    "usage": {
                        "cpu": f"{(seed % 400 + 5) * 1000000}n",
                        "memory": f"{seed % 300000 + 60000}Ki",
                    },
                }
                for c in pod["spec"]["containers"]
            ]
            meta = {k: pod["metadata"][k] for k in ("name", "namespace", "labels", "creationTimestamp")}
            items.append({"metadata": meta, "timestamp": now_rfc3339(), "window": "30s", "containers": usage})
        return web.json_response(
            {"kind": "PodMetricsList", "apiVersion": discovery.METRICS_GV, "metadata": {}, "items": items}
        )


def _group_version(request: web.Request) -> str:
    m = request.match_info
    return f"{m['group']}/{m['version']}" if "group" in m else m["version"]


def _dry_run(request: web.Request) -> bool:
    return "All" in request.query.getall("dryRun", [])


def _scale_of(dep: dict[str, Any]) -> dict[str, Any]:
    meta = dep["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")},
        "spec": {"replicas": dep["spec"].get("replicas", 1)},
        "status": {
            "replicas": dep.get("status", {}).get("replicas", 0),
            "selector": selector_string(dep["spec"]["selector"].get("matchLabels", {})),
        },
    }


def _validate(rtype: ResourceType, obj: dict[str, Any]) -> str | None:
    spec = obj.get("spec", {})
    if rtype.plural == "deployments":
        replicas = spec.get("replicas", 1)
        if not isinstance(replicas, int) or replicas < 0:
            return "spec.replicas: Invalid value: must be greater than or equal to 0"
    if rtype.plural == "horizontalpodautoscalers":
        low, high = spec.get("minReplicas", 1), spec.get("maxReplicas", 1)
        if not isinstance(low, int) or not isinstance(high, int) or low < 1 or high < low:
            return f"spec.maxReplicas: Invalid value: {high}: must be >= `minReplicas` ({low}) and >= 1"
    return None
