"""The sandbox cluster's RBAC check: the attributes the API server authorizes a request by
(verb, API group, resource/subresource, namespace, name), and whether a Role's rules allow them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_PATH = re.compile(
    r"^/(?:api/v1|apis/(?P<group>[^/]+)/[^/]+)/namespaces/(?P<ns>[^/]+)/(?P<resource>[^/]+)"
    r"(?:/(?P<name>[^/]+)(?:/(?P<sub>[^/]+))?)?$"
)


@dataclass(frozen=True)
class RequestAttributes:
    verb: str
    group: str
    resource: str  # with its subresource: deployments/scale, pods/log
    namespace: str
    name: str | None


def attributes(method: str, path: str, query: Mapping[str, str]) -> RequestAttributes | None:
    """None for requests outside a namespace (discovery, /version), which RBAC lets any client make."""
    match = _PATH.match(path)
    if match is None:
        return None
    name = match["name"]
    resource = match["resource"] + (f"/{match['sub']}" if match["sub"] else "")
    if method == "GET":
        verb = "get" if name else ("watch" if query.get("watch") in ("1", "true") else "list")
        selected = query.get("fieldSelector", "")
        if not name and selected.startswith("metadata.name=") and "," not in selected:
            name = selected.removeprefix("metadata.name=")  # the API server authorizes it by that name
    else:
        verb = {"PATCH": "patch", "PUT": "update", "POST": "create"}.get(method, "")
        if method == "DELETE":
            verb = "delete" if name else "deletecollection"
    return RequestAttributes(verb, match["group"] or "", resource, match["ns"], name)


def allowed(rules: Sequence[Mapping[str, Any]], request: RequestAttributes) -> bool:
    """What the RBAC authorizer decides for one request against a Role's rules."""
    for rule in rules:
        if request.group not in rule.get("apiGroups", []) and "*" not in rule.get("apiGroups", []):
            continue
        if request.resource not in rule.get("resources", []) and "*" not in rule.get("resources", []):
            continue
        if request.verb not in rule.get("verbs", []) and "*" not in rule.get("verbs", []):
            continue
        names = rule.get("resourceNames")
        if names and request.name not in names:
            continue
        return True
    return False
