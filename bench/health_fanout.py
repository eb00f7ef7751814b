"""Health-report fan-out: wall time and peak memory for 100, 500 and 1000 services.

Each size gets a sandbox cluster (the Kubernetes fake over real HTTP on 127.0.0.1) with one
deployment per service and a local aiohttp server answering every service's health URL, then
runs the real checks (bounded by the catalog's concurrency) and renders the Slack messages.
Ratios between sizes show whether the cost grows linearly (expect ≈5× and ≈2×).

Peak memory is tracemalloc's peak of Python allocations during the checks and the rendering;
the fakes run in the same process, so their request handling is included (an upper bound).

    .venv/bin/python -m bench.health_fanout
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.catalog import Catalog, Channels, HealthSchedule, Role, Service
from bot.health.checks import Targets, run_checks
from bot.health.model import State
from bot.health.report import render
from bot.k8s import Kube
from bot.sandbox.cluster import SandboxCluster
from bot.sandbox.cluster_store import new_deployment

SIZES = (100, 500, 1000)
CONCURRENCY = 50
PER_SIZE_LIMIT_SECONDS = 300.0  # bounded: a size that hangs fails the bench instead of stalling it
NAMESPACE = "bench"


@dataclass(frozen=True)
class Result:
    size: int
    seconds: float
    peak_mib: float
    messages: int
    states: dict[str, int]


def bench_catalog(size: int, http_base: str) -> Catalog:
    services = {
        f"svc-{i:04d}": Service(namespace=NAMESPACE, deployment=f"svc-{i:04d}", health_url=f"{http_base}/health/{i}")
        for i in range(size)
    }
    return Catalog(
        channels=Channels(ops="C0OPS", incidents="C0INC", health="C0HEALTH", alerts="C0ALERTS"),
        roles={"viewer": Role(), "operator": Role(), "approver": Role()},
        services=services,
        health=HealthSchedule(concurrency=CONCURRENCY),
    )


async def http_targets() -> tuple[web.AppRunner, str]:
    async def health(request: web.Request) -> web.Response:
        # One in 20 services answers 503, so the report carries buttons as a real one would.
        status = 503 if int(request.match_info["i"]) % 20 == 0 else 200
        return web.json_response({"status": "ok" if status == 200 else "down"}, status=status)

    app = web.Application()
    app.router.add_get("/health/{i}", health)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def run_size(size: int, workdir: Path) -> Result:
    runner, base = await http_targets()
    try:
        # A slow controller tick: the deployments are settled once up front; the bench measures reads.
        async with SandboxCluster(step_seconds=5.0) as cluster:
            for i in range(size):
                cluster.store.put("deployments", new_deployment(NAMESPACE, f"svc-{i:04d}", "app", 2, None))
            cluster.settle()
            catalog = bench_catalog(size, base)
            kube = Kube(kubeconfig=cluster.write_kubeconfig(workdir / f"kubeconfig-{size}"), timeout=10, max_workers=32)
            try:
                async with aiohttp.ClientSession() as session:
                    tracemalloc.start()
                    started = time.perf_counter()
                    async with asyncio.timeout(PER_SIZE_LIMIT_SECONDS):
                        report = await run_checks(catalog, Targets(kube, session))
                    rendered = render(report, title="Daily health report", procedures={"restart"}, when="bench")
                    seconds = time.perf_counter() - started
                    _, peak = tracemalloc.get_traced_memory()
                    tracemalloc.stop()
            finally:
                kube.close()
    finally:
        await runner.cleanup()
    states = {s.value: report.count(s) for s in State}
    return Result(size, seconds, peak / 2**20, 1 + len(rendered.thread), states)


async def main() -> None:
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            result = await run_size(size, Path(tmp))
            results.append(result)
            print(
                f"{size:>5} services: {result.seconds:7.2f} s  peak {result.peak_mib:7.1f} MiB  "
                f"{result.messages} messages  {result.states}",
                flush=True,
            )
    print("ratios (time, memory) against the previous size:")
    for before, after in zip(results, results[1:], strict=False):
        print(
            f"  {after.size}/{before.size} services = {after.size / before.size:.0f}×: "
            f"time {after.seconds / before.seconds:.2f}×, memory {after.peak_mib / before.peak_mib:.2f}×"
        )


if __name__ == "__main__":
    asyncio.run(main())
