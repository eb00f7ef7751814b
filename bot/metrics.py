"""Prometheus metrics: defined once, on a dedicated registry that /metrics renders.

Metric objects are process-wide (the Prometheus convention): several BotProcess instances
in one process (tests) share them, and nothing here touches the client library's global
REGISTRY. Labels are bounded sets only: request kinds, status classes, Slack method names,
Kubernetes verbs, procedure names and policy reasons from the configuration. Never user ids,
channel ids or free text.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUEST_KINDS = ("slash_command", "block_actions", "view_submission", "event", "other")
# Slack wants an answer within 3 s; the buckets resolve the region that matters.
ACK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0)
STEP_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

SLACK_REQUESTS = Counter(
    "runbook_bot_slack_requests",
    "Requests received on /slack/events, by kind and HTTP status class of our answer.",
    ["kind", "outcome"],
    registry=REGISTRY,
)
ALERT_DELIVERIES = Counter(
    "runbook_bot_alert_deliveries",
    "Alertmanager webhook deliveries, by our answer "
    "(accepted, unauthorized, too_large, slow_client, malformed, queue_full).",
    ["outcome"],
    registry=REGISTRY,
)
ACK_SECONDS = Histogram(
    "runbook_bot_ack_seconds",
    "Time from receiving a Slack request to sending the HTTP answer (the ack), by kind.",
    ["kind"],
    buckets=ACK_BUCKETS,
    registry=REGISTRY,
)
EXECUTIONS = Counter(
    "runbook_bot_executions",
    "Confirmed runbook executions that reached a final state, by procedure and state.",
    ["procedure", "state"],
    registry=REGISTRY,
)
STEP_SECONDS = Histogram(
    "runbook_bot_step_seconds",
    "Duration of executed runbook steps, by procedure and whether the step succeeded.",
    ["procedure", "ok"],
    buckets=STEP_BUCKETS,
    registry=REGISTRY,
)
POLICY_DENIALS = Counter(
    "runbook_bot_policy_denials",
    "Requests and confirmations refused by policy, by reason (role, channel, rate_limit, ...).",
    ["reason"],
    registry=REGISTRY,
)
SLACK_API_CALLS = Counter(
    "runbook_bot_slack_api_calls",
    "Slack Web API calls after slack_sdk's retries, by method and final status (ok or the error).",
    ["method", "status"],
    registry=REGISTRY,
)
SLACK_RATE_LIMITED = Counter(
    "runbook_bot_slack_rate_limited",
    "HTTP 429 answers from Slack, each one (including those slack_sdk then retried), by method.",
    ["method"],
    registry=REGISTRY,
)
KUBE_API_CALLS = Counter(
    "runbook_bot_kube_api_calls",
    "Kubernetes API calls, by verb and status (ok, an HTTP status code, timeout or error).",
    ["verb", "status"],
    registry=REGISTRY,
)
SCHEDULER_FIRES = Counter(
    "runbook_bot_scheduler_fires",
    "Scheduler fires by job kind and result: claimed, late, skipped (another replica won), missed, failed.",
    ["job", "result"],
    registry=REGISTRY,
)
PG_POOL_IN_USE = Gauge(
    "runbook_bot_pg_pool_in_use",
    "PostgreSQL pool connections in use (set when /metrics is scraped).",
    registry=REGISTRY,
)
PG_POOL_SIZE = Gauge(
    "runbook_bot_pg_pool_size",
    "PostgreSQL pool maximum size (set when /metrics is scraped).",
    registry=REGISTRY,
)
REDIS_ERRORS = Counter(
    "runbook_bot_redis_errors",
    "Redis operations that failed (Redis unreachable or erroring), by exception type.",
    ["error"],
    registry=REGISTRY,
)
DEPENDENCY_UP = Gauge(
    "runbook_bot_dependency_up",
    "1 when the last readiness probe reached the dependency (postgres, redis), else 0.",
    ["dependency"],
    registry=REGISTRY,
)

_SAFE_LABEL = re.compile(r"^[A-Za-z0-9_.]{1,40}$")


def status_class(status: int) -> str:
    """200 → '2xx': the outcome label of a request."""
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


def bounded(value: str, fallback: str = "other") -> str:
    """A label value only if it looks like an identifier (a Slack error code, a method); else fallback."""
    return value if _SAFE_LABEL.match(value) else fallback


def observe_pool(in_use: int, size: int) -> None:
    PG_POOL_IN_USE.set(in_use)
    PG_POOL_SIZE.set(size)


class _Step(Protocol):
    @property
    def ok(self) -> bool: ...
    @property
    def seconds(self) -> float: ...


class _Execution(Protocol):
    """What the metrics read of a bot.runbooks Execution; metrics sit below the domain and never import it."""

    @property
    def procedure(self) -> str: ...
    @property
    def state(self) -> enum.StrEnum: ...
    @property
    def steps(self) -> Sequence[_Step]: ...


def observe_execution(execution: _Execution) -> None:
    """Count a finished execution by its final state and observe each of its steps' duration."""
    EXECUTIONS.labels(procedure=execution.procedure, state=execution.state.value).inc()
    for step in execution.steps:
        STEP_SECONDS.labels(procedure=execution.procedure, ok="true" if step.ok else "false").observe(step.seconds)


def count_closed_by_sweep(execution: _Execution) -> None:
    """An execution the sweep closed (expired, or interrupted by a dead replica): its state only, since
    any steps it ran were observed, if at all, by the replica that ran them."""
    EXECUTIONS.labels(procedure=execution.procedure, state=execution.state.value).inc()


def count_denial(reason: str) -> None:
    POLICY_DENIALS.labels(reason=bounded(reason)).inc()


def render() -> bytes:
    """The text exposition of every runbook-bot metric."""
    return generate_latest(REGISTRY)
