"""Patch semantics of the sandbox API server: JSON patch, merge patch, strategic merge patch.

Only the shapes kubectl and the bot send are covered; strategic merge knows the merge
keys of the pod template lists (containers/env by `name`), which is what `kubectl set env`,
`rollout restart` and `rollout undo` rely on.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH)

# The merge keys of the lists in a pod template (from the Kubernetes OpenAPI x-kubernetes-patch-merge-key).
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
}


class PatchError(ValueError):
    """The patch cannot be applied; the server answers 422/400 with this message."""


def apply_patch(obj: dict[str, Any], patch: Any, content_type: str) -> dict[str, Any]:
    """A new object: `obj` with `patch` applied according to `content_type`."""
    if content_type == JSON_PATCH:
        if not isinstance(patch, list):
            raise PatchError("a JSON patch is a list of operations")
        return json_patch(obj, patch)
    if not isinstance(patch, dict):
        raise PatchError("a merge patch is a JSON object")
    if content_type == MERGE_PATCH:
        return _as_dict(merge_patch(obj, patch))
    if content_type == STRATEGIC_MERGE_PATCH:
        return _as_dict(strategic_merge(obj, patch))
    raise PatchError(f"unsupported patch content type {content_type!r}")


def _as_dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PatchError("the patch replaced the whole object")
    return value


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(target: Any, patch: Any, field: str = "") -> Any:
    """Kubernetes strategic merge: like a merge patch, but lists with a merge key merge by that key."""
    if isinstance(patch, list):
        key = MERGE_KEYS.get(field)
        if key is None or not isinstance(target, list):
            return [_strip_directives(item) for item in patch]
        return _merge_list(target, patch, key)
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return _strip_directives(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if name.startswith("$"):  # $setElementOrder/…, $retainKeys: ordering hints we do not need
            continue
        if value is None:
            result.pop(name, None)
        else:
            result[name] = strategic_merge(result.get(name), value, name)
    return result


def _merge_list(target: list[Any], patch: list[Any], key: str) -> list[Any]:
    result = copy.deepcopy(target)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise PatchError(f"list items must carry their merge key {key!r}")
        index = next((i for i, old in enumerate(result) if old.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(_strip_directives(item))
        else:
            result[index] = strategic_merge(result[index], item)
    return result


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def json_patch(obj: dict[str, Any], operations: list[Any]) -> dict[str, Any]:
    """RFC 6902 add/replace/remove/test (what `kubectl rollout undo` and `kubectl patch --type json` send)."""
    doc: Any = copy.deepcopy(obj)
    for op in operations:
        if not isinstance(op, dict) or "path" not in op:
            raise PatchError("each JSON patch operation needs an op and a path")
        parts = [p.replace("~1", "/").replace("~0", "~") for p in str(op["path"]).split("/")[1:]]
        if not parts:
            raise PatchError("the JSON patch path cannot be the whole document")
        parent = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.setdefault(part, {})
        last = parts[-1]
        kind = op.get("op")
        if kind in ("add", "replace"):
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                if kind == "add":
                    parent.insert(index, copy.deepcopy(op.get("value")))
                else:
                    parent[index] = copy.deepcopy(op.get("value"))
            else:
                if kind == "replace" and last not in parent and op.get("value") is not None:
                    # The API server accepts replace of a missing key for metadata maps; so do we.
                    pass
                parent[last] = copy.deepcopy(op.get("value"))
        elif kind == "remove":
            try:
                del parent[int(last) if isinstance(parent, list) else last]
            except (KeyError, IndexError) as exc:
                raise PatchError(f"remove: {op['path']} does not exist") from exc
        elif kind == "test":
            if parent.get(last) != op.get("value"):
                raise PatchError(f"test failed at {op['path']}")
        else:
            raise PatchError(f"unsupported JSON patch op {kind!r}")
    return _as_dict(doc)


def compile_selector(selector: str) -> Callable[[dict[str, str]], bool]:
    """A label selector string (`app=x,tier!=db,key,!key`) as a predicate on a label map.

    Parsed once per request, not once per object: a list filters thousands of pods.
    """
    equal: list[tuple[str, str]] = []
    unequal: list[tuple[str, str]] = []
    present: list[str] = []
    absent: list[str] = []
    for term in (t.strip() for t in selector.split(",") if t.strip()):
        if "!=" in term:
            key, value = (part.strip() for part in term.split("!=", 1))
            unequal.append((key, value))
        elif "=" in term:
            key, value = (part.strip() for part in term.replace("==", "=").split("=", 1))
            equal.append((key, value))
        elif term.startswith("!"):
            absent.append(term[1:])
        else:
            present.append(term)

    def matches(labels: dict[str, str]) -> bool:
        return (
            all(labels.get(k) == v for k, v in equal)
            and all(labels.get(k) != v for k, v in unequal)
            and all(k in labels for k in present)
            and not any(k in labels for k in absent)
        )

    return matches


def selector_string(match_labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(match_labels.items()))
