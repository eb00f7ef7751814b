"""Health-report fan-out: wall time and peak memory for 100, 500 and 1000 services.

Each size gets a sandbox cluster (the Kubernetes fake over real HTTP on 127.0.0.1) with one
deployment per service and a local aiohttp server answering every service's health URL, then
runs the real checks (bounded by the catalog's concurrency) and renders the Slack messages.
Ratios between sizes show whether the cost grows linearly (expect ≈5× and ≈2×).

Each size runs in its own child process, so peak memory (ru_maxrss of that process) is not
inflated by the previous size. The fakes run in that process too, so their objects are included
(an upper bound for the bot's own share).

    .venv/bin/python -m bench.health_fanout
"""

from __future__ import annotations

import asyncio
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.catalog import Catalog, Channels, HealthSchedule, Role, Service
from bot.health.checks import Targets, run_checks
from bot.health.model import State
from bot.k8s import Kube
from bot.settings import PROJECT_ROOT
from bot.slack.health_contexts import Occasion
from bot.slack.health_views import render
from bot.templating import Templates
from sandbox.cluster import SandboxCluster
from sandbox.cluster_store import new_deployment

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
        # No controller ticks: the deployments are settled once up front; the bench measures reads.
        async with SandboxCluster(step_seconds=3600.0) as cluster:
            for i in range(size):
                cluster.store.put("deployments", new_deployment(NAMESPACE, f"svc-{i:04d}", "app", 2, None))
            cluster.settle()
            catalog = bench_catalog(size, base)
            kube = Kube(kubeconfig=cluster.write_kubeconfig(workdir / f"kubeconfig-{size}"), timeout=10, max_workers=32)
            try:
                async with aiohttp.ClientSession() as session:
                    started = time.perf_counter()
                    async with asyncio.timeout(PER_SIZE_LIMIT_SECONDS):
                        report = await run_checks(catalog, Targets(kube, session))
                    rendered = render(
                        Templates(PROJECT_ROOT / "templates"),
                        report,
                        Occasion(scheduled_at="bench"),
                        procedures={"restart"},
                    )
                    seconds = time.perf_counter() - started
            finally:
                kube.close()
    finally:
        await runner.cleanup()
    states = {s.value: report.count(s) for s in State}
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return Result(size, seconds, peak_kib / 1024, 1 + len(rendered.thread), states)


def child(size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(run_size(size, Path(tmp)))
    print(json.dumps(result.__dict__))


def main() -> None:
    results: list[Result] = []
    for size in SIZES:
        out = subprocess.run(
            [sys.executable, "-m", "bench.health_fanout", "--size", str(size)],
            check=True,
            capture_output=True,
            text=True,
            timeout=PER_SIZE_LIMIT_SECONDS + 60,
        )
        result = Result(**json.loads(out.stdout.strip().splitlines()[-1]))
        results.append(result)
        print(
            f"{size:>5} services: {result.seconds:7.2f} s  peak RSS {result.peak_mib:7.1f} MiB  "
            f"{result.messages} messages  {result.states}",
            flush=True,
        )
    print("ratios (time, memory) against the previous size:")
    for before, after in itertools.pairwise(results):
        print(
            f"  {after.size}/{before.size} services = {after.size / before.size:.0f}×: "
            f"time {after.seconds / before.seconds:.2f}×, memory {after.peak_mib / before.peak_mib:.2f}×"
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--size":
        child(int(sys.argv[2]))
    else:
        main()
