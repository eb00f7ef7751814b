"""Kubernetes requests sent through the ApiClient's own plumbing, without the generated API classes.

The generated methods of kubernetes 37 run pydantic `validate_call` over their arguments on every
call, and `kubernetes.client`'s lazy `__getattr__` imports an API module with all its models the
first time one is named: the first requests after start-up paid seconds of CPU for that import
(30 % of a profile under load), and each request after it the argument validation. The bot sends
a handful of fixed requests with raw JSON in and out (the same fields kubectl reads), so it uses
the ApiClient only for what matters here: configuration, auth headers, the connection pool.
Requests are the same on the wire: method, path, query, content type, JSON body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from kubernetes.client.api_client import ApiClient
from kubernetes.client.exceptions import ApiException

Query = Mapping[str, str | int | bool | None]
Timeout = float | tuple[float, float]


def path(template: str, **params: str) -> str:
    """`template` with each {name} replaced by its percent-encoded value (as the generated client does)."""
    return template.format(**{k: quote(v, safe="") for k, v in params.items()})


def _query(query: Query) -> list[tuple[str, str]]:
    return [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in query.items() if v is not None]


def send(
    api: ApiClient,
    method: str,
    resource_path: str,
    *,
    timeout: Timeout,
    query: Query | None = None,
    body: Any = None,
    content_type: str | None = None,
) -> Any:
    """The REST response (a stream, not yet read); raises ApiException for a non-2xx answer."""
    headers = {"Accept": "application/json"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    serialized = api.param_serialize(
        method=method,
        resource_path=resource_path,
        query_params=_query(query or {}),
        header_params=headers,
        body=body,
        auth_settings=["BearerToken"],
    )
    response: Any = api.call_api(*serialized, _request_timeout=timeout)
    if not 200 <= response.status <= 299:
        response.read()
        raise ApiException.from_response(http_resp=response, body=None, data=None)
    return response


def request_json(
    api: ApiClient,
    method: str,
    resource_path: str,
    *,
    timeout: Timeout,
    query: Query | None = None,
    body: Any = None,
    content_type: str | None = None,
) -> Any:
    """The answer's JSON, parsed once into plain dicts and lists."""
    response = send(api, method, resource_path, timeout=timeout, query=query, body=body, content_type=content_type)
    return json.loads(response.read() or b"null")


def request_bytes(api: ApiClient, resource_path: str, *, timeout: Timeout, query: Query | None = None) -> bytes:
    """A GET whose answer is not JSON (pod logs)."""
    return bytes(send(api, "GET", resource_path, timeout=timeout, query=query).read())
