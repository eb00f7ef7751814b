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
    def what(self) -> errors.Said:
        return errors.Said("k8s_op", verb=self.verb, resource=self.resource, namespace=self.namespace)


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
        return errors.UnavailableError("Kubernetes", errors.Said("k8s_timed_out", op=op.what, seconds=timeout))
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and isinstance(exc.reason, urllib3.exceptions.TimeoutError):
        return errors.UnavailableError("Kubernetes", errors.Said("k8s_timed_out", op=op.what, seconds=timeout))
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
        cause = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason else exc
        reason = errors.network_reason(cause)
        return errors.UnavailableError("Kubernetes", errors.Said("k8s_unreachable", op=op.what, reason=reason))
    if isinstance(exc, ConfigException):
        return errors.UnavailableError("Kubernetes", errors.Said("kubeconfig_unloadable", error=str(exc)))
    failure = f"{type(exc).__name__}: {exc}"
    return errors.UnavailableError("Kubernetes", errors.Said("k8s_failed", op=op.what, error=failure))


def _from_status(exc: ApiException, op: Op) -> errors.BotError:
    status = int(exc.status or 0)
    message = _server_message(exc)
    if status == 401:
        return errors.TargetError("k8s_unauthorized", op=op.what)
    if status == 403:
        return errors.TargetError("k8s_forbidden", op=op.what)
    if status == 404:
        return errors.NotFoundError("k8s_not_found", kind=op.kind, name=op.name, namespace=op.namespace)
    if status == 409:
        return ConflictError("k8s_conflict", kind=op.kind, name=op.name, namespace=op.namespace, verb=op.verb)
    if status in (400, 422):
        return errors.TargetError("k8s_refused", op=op.what, message=message)
    if status == 429 or status >= 500:
        said = errors.Said("k8s_server_error", status=status, op=op.what, message=message)
        return errors.UnavailableError("Kubernetes", said)
    return errors.TargetError("k8s_answered", status=status, op=op.what, message=message)
