"""Thresholds of the built-in checks, as the checks see them. Deployments set them in the catalog
(`health.thresholds`, bot.catalog.HealthThresholds, same fields and defaults); Prometheus thresholds
come from the catalog per query. Tests and benches may build one directly."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    check_timeout: float = 10.0  # any one check, whatever the target; past it the check is unknown
    http_timeout: float = 5.0
    http_warn_ms: int = 500
    http_fail_ms: int = 2000
    restarts_warn: int = 5  # summed over the deployment's pods
    restarts_fail: int = 20
    pg_connections_warn: float = 0.8  # share of max_connections in use
    pg_connections_fail: float = 0.95
    long_query_minutes: int = 5  # runbook 000: "query_start < now() - interval '5 minutes'"
    redis_memory_warn: float = 0.8  # share of maxmemory
    redis_memory_fail: float = 0.95
    queue_warn: int = 1_000
    queue_fail: int = 10_000
