"""Confirm path: from the Confirm click to the first progress update, and to the finished scale.

The real bot (BotProcess, in this process, on embedded PostgreSQL and Redis) with the Slack
fake and the sandbox cluster over real HTTP on 127.0.0.1. bob (operator + approver) requests
`/runbook scale <service> <n>` and confirms it himself, N times. Services alternate
(backend, frontend) and each service's target alternates between two replica counts, so every
scale is a real change; each execution is awaited before the next (a lock per deployment
serialises them anyway). Measured from just before the Confirm click is sent:

  ack            the bot's HTTP answer to the click
  first update   the first chat.update of the preview message the Slack fake received
  scaled         the sandbox deployment has spec.replicas = n and n available replicas
  final          the message shows *succeeded* (the bot's last chat.update)

It also counts the Kubernetes API requests of each execution (the preview's dry run, the scale
and the wait for the rollout) and, when kubectl is on PATH, those of the same steps done with
kubectl against the same sandbox (`scale --dry-run=server`, `scale`, `rollout status`).

The sandbox rollout advances every --step-seconds (default 0.05 s, as in the tests), so
"scaled" and "final" include the fake's pacing; "first update" is the bot's own latency.
The destructive-request rate limit (10 per minute per user) is lifted for this bench only,
on the Policy object, so N executions by one user are possible.

    .venv/bin/python -m bench.confirm_path [--executions 200] [--step-seconds 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import structlog

from bench.ack_path import SECRET, Fakes
from bench.loadgen import percentile
from bot.store.db import create_database

SERVICES = (
    ("backend", "mail-score-production", "mail-score-backend", (4, 5)),
    ("frontend", "mail-score-production", "mail-score-frontend", (4, 5)),
)
WAIT_SECONDS = 15.0
TARGET_FIRST_P50_MS = 150.0
TARGET_FIRST_P99_MS = 400.0


async def wait_until(predicate: Any, within: float = WAIT_SECONDS, interval: float = 0.002) -> float:
    """Poll until predicate() is truthy; the monotonic time it first was."""
    deadline = time.monotonic() + within
    while True:
        if predicate():
            return time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(interval)


async def bench(executions: int, step_seconds: float, think_ms: float) -> dict[str, list[float]]:
    from bot.app import BotProcess
    from bot.ids import ActionId
    from bot.settings import Settings
    from sandbox.slack_client import SlackUser, find_button

    times: dict[str, list[float]] = {"ack": [], "first update": [], "scaled": [], "final": []}
    failures: list[int] = []
    kube_requests: list[int] = []  # per execution: preview, change and rollout wait
    with tempfile.TemporaryDirectory(prefix="bench-confirm-") as tmp:
        workdir = Path(tmp)
        async with Fakes(workdir, step_seconds=step_seconds) as fakes:
            env = fakes.bot_env(
                port=0,
                data_dir=workdir / "data",
                database_url=await create_database(fakes.postgres_url),
                redis_url=fakes.redis_url,
            )
            # The bench makes N change requests as one user; lift the per-user rate limit for it only.
            settings = Settings.model_validate({**env, "DESTRUCTIVE_REQUESTS_PER_MINUTE": str(10**9)})
            bot = BotProcess(settings, run_scheduler=False)
            await bot.start()
            port = await bot.serve_http("127.0.0.1", 0)
            slack, cluster = fakes.slack, fakes.cluster
            try:
                async with SlackUser(
                    f"http://127.0.0.1:{port}/slack/events", slack, SECRET, user_id="U0BOB", channel_id="C0OPS"
                ) as bob:

                    async def execute(i: int) -> None:
                        service, ns, deployment, targets = SERVICES[i % len(SERVICES)]
                        target = targets[(i // len(SERVICES)) % 2]
                        posted = len(slack.calls_to("chat.postMessage"))
                        kube_before = len(cluster.requests)
                        reply = await bob.slash_command(f"scale {service} {target}")
                        assert reply.status == 200, reply.body

                        def preview() -> Any:
                            calls = slack.calls_to("chat.postMessage")
                            for call in calls[posted:]:
                                ts = (call.response or {}).get("ts")
                                message = slack.find_message(ts) if ts else None
                                if message is not None and ActionId.CONFIRM.value in str(message.blocks):
                                    return message
                            return None

                        await wait_until(preview)
                        message = preview()
                        find_button(message, action_id=ActionId.CONFIRM.value)
                        # A person reads the preview before clicking. Clicking within ~ms of the post can
                        # beat the bot's own set_message (see bench/README.md): no progress would show.
                        await asyncio.sleep(think_ms / 1000)
                        started = time.monotonic()
                        reply = await bob.block_action(message, ActionId.CONFIRM.value)
                        acked = time.monotonic()
                        assert reply.status == 200, reply.body

                        def first_update() -> float | None:
                            for call in slack.calls_to("chat.update"):
                                if call.params.get("ts") == message.ts and call.at >= started:
                                    return call.at
                            return None

                        def scaled() -> bool:
                            d = cluster.deployment(ns, deployment)
                            return bool(
                                d["spec"]["replicas"] == target
                                and d.get("status", {}).get("availableReplicas") == target
                                and d.get("status", {}).get("replicas") == target
                            )

                        def final() -> bool:
                            current = slack.message("C0OPS", message.ts)
                            return bool(current and "*succeeded*" in str(current.blocks))

                        try:
                            done_scaled = await wait_until(scaled)
                            done_final = await wait_until(final)
                        except TimeoutError:
                            current = slack.message("C0OPS", message.ts)
                            state = cluster.deployment(ns, deployment)
                            print(
                                f"  execution {i + 1} ({service} → {target}) did not finish in {WAIT_SECONDS}s: "
                                f"deployment spec {state['spec']['replicas']} status {state.get('status')}; "
                                f"message: {str(current.blocks if current else None)[:600]}",
                                file=sys.stderr,
                            )
                            failures.append(i + 1)
                            return
                        await wait_until(lambda: first_update() is not None)
                        first = first_update()
                        assert first is not None
                        kube_requests.append(len(cluster.requests) - kube_before)
                        for name, at in (
                            ("ack", acked),
                            ("first update", first),
                            ("scaled", done_scaled),
                            ("final", done_final),
                        ):
                            times[name].append((at - started) * 1000)
                        if (i + 1) % 20 == 0:
                            print(f"  {i + 1}/{executions} executions", file=sys.stderr)

                    for i in range(executions):
                        await execute(i)
                times["kubectl requests"] = [
                    float(n) for n in await kubectl_requests(cluster, fakes.kubeconfig, workdir)
                ]
            finally:
                await bot.stop()
    times["failed executions"] = [float(n) for n in failures]
    times["kube requests"] = [float(n) for n in kube_requests]
    return times


def kubectl_scale_commands(target: int) -> list[list[str]]:
    """What a person runs for `/runbook scale backend <target>`: the preview, the change, the wait."""
    _, ns, deployment, _ = SERVICES[0]
    scale = ["scale", f"deployment/{deployment}", f"--replicas={target}", "-n", ns]
    return [[*scale, "--dry-run=server"], scale, ["rollout", "status", f"deployment/{deployment}", "-n", ns]]


async def kubectl_requests(cluster: Any, kubeconfig: Path, workdir: Path) -> list[int]:
    """Kubernetes API requests of the same procedure done with kubectl: [object requests, discovery requests].

    kubectl caches discovery in --cache-dir; the first command fills the cache, so discovery is counted once.
    Empty when kubectl is not on PATH.
    """
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("  kubectl is not on PATH: no comparison of Kubernetes requests", file=sys.stderr)
        return []
    env = {**os.environ, "HOME": str(workdir), "KUBECONFIG": str(kubeconfig)}
    cluster.clear()
    for args in kubectl_scale_commands(3):
        argv = [kubectl, "--kubeconfig", str(kubeconfig), "--cache-dir", str(workdir / "kubectl-cache"), *args]
        done = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, timeout=60, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed: {done.stderr}")
    objects = sum(1 for r in cluster.requests if "/namespaces/" in r.path)
    return [objects, len(cluster.requests) - objects]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=200, help="number of confirmed scales (default 200)")
    parser.add_argument("--step-seconds", type=float, default=0.05, help="sandbox rollout step (default 0.05)")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=100.0,
        help="pause between the preview appearing and the click (default 100; 0 shows the race)",
    )
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    began = time.monotonic()
    times = asyncio.run(bench(args.executions, args.step_seconds, args.think_ms))
    print(
        f"\nConfirm path: {args.executions} executions as bob (requester and confirmer), "
        f"sandbox step {args.step_seconds}s, think {args.think_ms:g} ms, {time.monotonic() - began:.1f}s wall\n"
    )
    header = f"{'from Confirm click to':<24} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}"
    print(header)
    print("-" * len(header))
    failures = times.pop("failed executions")
    ours = sorted(times.pop("kube requests")) or [float("nan")]
    theirs = times.pop("kubectl requests", [])
    for name, values in times.items():
        ms = sorted(values) or [float("nan")]
        print(f"{name:<24} {percentile(ms, 0.5):>9.1f} {percentile(ms, 0.99):>9.1f} {ms[-1]:>9.1f}")
    print(
        f"\n{len(failures)} of {args.executions} executions did not finish within {WAIT_SECONDS:.0f}s"
        + (f": {[int(n) for n in failures]}" if failures else "")
    )
    print("\nKubernetes API requests for one `scale` (preview dry run, scale, wait for the rollout)\n")
    print(f"  bot, per execution: median {percentile(ours, 0.5):.0f}, max {ours[-1]:.0f}")
    if theirs:
        commands = " ; ".join("kubectl " + " ".join(c) for c in kubectl_scale_commands(3))
        print(f"  kubectl: {theirs[0]:.0f} (+ {theirs[1]:.0f} discovery, cached afterwards) for: {commands}")
    print("\nTargets (issue 20)\n")
    first = sorted(times["first update"]) or [float("inf")]
    checks = [
        (
            f"Confirm → first progress update p50 < {TARGET_FIRST_P50_MS:.0f} ms",
            percentile(first, 0.5) < TARGET_FIRST_P50_MS,
        ),
        (
            f"Confirm → first progress update p99 < {TARGET_FIRST_P99_MS:.0f} ms",
            percentile(first, 0.99) < TARGET_FIRST_P99_MS,
        ),
        ("no execution left unfinished", not failures),
    ]
    if theirs:
        checks.append(("Kubernetes requests per scale ≤ kubectl's (max over executions)", ours[-1] <= theirs[0]))
    for name, ok in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
