"""Kubernetes client exceptions → the bot's errors, each with one line a person can act on."""

from __future__ import annotations

import json
from dataclasses import dataclass

import urllib3.exceptions
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from bot import errors


class ConflictError(errors.TargetError):
    """409: the object changed under us; callers re-read and retry a few times."""


@dataclass(frozen=True)
class Op:
    """What we were doing, for the message: `patch deployments/scale in production`."""

    verb: str
    resource: str  # plural, with subresource: "deployments/scale"
    namespace: str
    kind: str = "deployment"  # singular, for "no deployment x in ns"
    name: str = ""

    @property
    def what(self) -> str:
        return f"{self.verb} {self.resource} in {self.namespace}"


def _server_message(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or "")
    except ValueError:
        return str(exc.reason or "").strip()
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or exc.reason or "").strip()


def translate(exc: BaseException, op: Op, timeout: float) -> errors.BotError:
    """The one error the user sees for `exc` raised while doing `op`."""
    if isinstance(exc, ApiException):
        return _from_status(exc, op)
    if isinstance(exc, urllib3.exceptions.TimeoutError | TimeoutError):
        return errors.UnavailableError("Kubernetes", f"{op.what} timed out after {timeout:g}s")
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and isinstance(exc.reason, urllib3.exceptions.TimeoutError):
        return errors.UnavailableError("Kubernetes", f"{op.what} timed out after {timeout:g}s")
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
        cause = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason else exc
        return errors.UnavailableError(
            "Kubernetes", f"cannot reach the API server to {op.what}: {errors.network_reason(cause)}"
        )
    if isinstance(exc, ConfigException):
        return errors.UnavailableError("Kubernetes", f"cannot load the kubeconfig: {exc}")
    return errors.UnavailableError("Kubernetes", f"{op.what} failed: {type(exc).__name__}: {exc}")


def _from_status(exc: ApiException, op: Op) -> errors.BotError:
    status = int(exc.status or 0)
    message = _server_message(exc)
    if status == 401:
        return errors.TargetError(f"the API server rejected the bot's credentials (401) to {op.what}")
    if status == 403:
        return errors.TargetError(f"the bot's service account may not {op.what}")
    if status == 404:
        return errors.NotFoundError(f"no {op.kind} {op.name} in {op.namespace}".replace("  ", " "))
    if status == 409:
        return ConflictError(f"{op.kind} {op.name} in {op.namespace} kept changing while we tried to {op.verb} it")
    if status in (400, 422):
        return errors.TargetError(f"Kubernetes refused to {op.what}: {message}")
    if status == 429 or status >= 500:
        return errors.UnavailableError("Kubernetes", f"the API server answered {status} to {op.what}: {message}")
    return errors.TargetError(f"Kubernetes answered {status} to {op.what}: {message}")
