"""Ack path: how fast the bot answers Slack, against a bare aiohttp handler and a minimal Bolt app.

The same freshly signed requests — `/runbook status backend` (a slash command) and a Cancel
click on a request id that does not exist (a `block_actions` payload) — are sent to:

  (a) bare  — an aiohttp handler that reads the body and answers 200;
  (b) bolt  — a minimal slack_bolt AsyncApp behind the aiohttp adapter that only acks,
              with Bolt's own signature verification ON (same secret), process_before_response off;
  (c) bot   — the real bot (`runbook-bot serve`, i.e. BotProcess.serve_http) on embedded
              PostgreSQL and Redis, the sandbox cluster and the Slack fake;
  (d) bot×2 — the same with `--workers 2`: two processes on one port (SO_REUSEPORT).

Each server runs in its own process; the load comes from a third (bench/loadgen.py, closed
loop, fixed concurrency and duration); the Slack fake and the sandbox cluster run in this
process. (c) does real follow-up work after each ack in the same process (role check, a
Kubernetes read and chat.postMessage for status; a database lookup and a response_url post
for the click): that is part of its cost and is reported as "follow-up drain", the time after
the load stopped until the Slack fake stopped receiving calls. "follow-ups" counts what the
users were answered (a status message; a click's response_url answer), "busy" the acks that
said the bot was too busy (nothing follows those); the targets check every other request got
its answer and the last one came within 5 s of the load stopping.

    .venv/bin/python -m bench.ack_path [--duration 3] [--concurrency 1,20,100] [--kinds status,cancel]
                                       [--servers a,b,c,d]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

SECRET = "bench-signing-secret-0123456789"
HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
RUNBOOK_BOT = Path(sys.executable).parent / "runbook-bot"
CELL_TIMEOUT_SECONDS = 120.0

# Targets from issues 9 and 20.
TARGET_RPS_RATIO = 0.7  # (c) ≥ 0.7 × (b) requests/s at 20 connections
TARGET_P99_MS = 50.0  # p99 ack < 50 ms at 20 connections
TARGET_MAX_MS = 1000.0  # no ack over 1 s at 100 connections
TARGET_CPU_RATIO = 2.0  # CPU per request (ack + follow-up) ≤ 2 × Bolt's ack alone
TARGET_DRAIN_S = 5.0  # every follow-up delivered, none later than 5 s after the load stopped


# ── harness shared by the benches ─────────────────────────────────────────────


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Fakes:
    """Embedded PostgreSQL/Redis (as "external" servers), the Slack fake and the sandbox cluster."""

    workdir: Path
    step_seconds: float = 0.05
    postgres_url: str = ""
    redis_url: str = ""
    kubeconfig: Path = field(default_factory=Path)
    _embedded: Any = None
    slack: Any = None
    cluster: Any = None
    catalog: Any = None

    async def __aenter__(self) -> Fakes:
        from bot.catalog import load_catalog
        from bot.embedded import EmbeddedServers
        from bot.settings import PROJECT_ROOT
        from sandbox.cluster import SandboxCluster
        from sandbox.slack_fake import FakeConfig, SlackFake

        self.catalog = load_catalog(PROJECT_ROOT / "chatops.yml")
        self._embedded = EmbeddedServers(self.workdir / "embedded")
        self.postgres_url = await asyncio.to_thread(self._embedded.postgres_url)
        self.redis_url = await asyncio.to_thread(self._embedded.redis_url)
        # A load test reuses a small pool of response URLs, so let each be used without limit.
        self.slack = SlackFake(FakeConfig(response_url_max_uses=10**9))
        await self.slack.start()
        self.cluster = SandboxCluster(step_seconds=self.step_seconds)
        await self.cluster.start()
        self.cluster.seed_from_catalog(self.catalog)
        self.kubeconfig = self.cluster.write_kubeconfig(
            self.workdir / "kubeconfig", SandboxCluster.catalog_contexts(self.catalog)
        )
        return self

    async def __aexit__(self, *_: object) -> None:
        with contextlib.suppress(Exception):
            await self.cluster.stop()
        with contextlib.suppress(Exception):
            await self.slack.close()
        if self._embedded is not None:
            await asyncio.to_thread(self._embedded.close)

    def loadgen_spec(self, path: Path, n_urls: int = 256) -> Path:
        urls = [self.slack.new_response_url("C0OPS", "U0ALICE") for _ in range(n_urls)]
        path.write_text(json.dumps({"response_urls": urls, "user_id": "U0ALICE", "user_name": "alice"}))
        return path

    def bot_env(self, *, port: int, data_dir: Path, database_url: str | None, redis_url: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(
            SLACK_BOT_TOKEN=self.slack.token,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=self.slack.api_url,
            KUBECONFIG=str(self.kubeconfig),
            CHATOPS_CONFIG=str(PROJECT / "chatops.yml"),
            RUNBOOK_COMMANDS_DIR=str(PROJECT / "commands"),
            RUNBOOK_TEMPLATES_DIR=str(PROJECT / "templates"),
            RUNBOOK_DATA_DIR=str(data_dir),
            HOST="127.0.0.1",
            PORT=str(port),
            KUBE_TIMEOUT="5",
            SLACK_TIMEOUT="5",
            LOG_FORMAT="json",
            REDIS_PREFIX=f"bench-{uuid.uuid4().hex[:8]}:",
        )
        if database_url:
            env["DATABASE_URL"] = database_url
        if redis_url:
            env["REDIS_URL"] = redis_url
        return env

    async def drain(self, quiet: float = 0.5, cap: float = 60.0) -> float:
        """Seconds until the Slack fake stopped receiving calls (the bot's follow-up work finished)."""
        began = last_change = time.monotonic()
        seen = len(self.slack.calls)
        while time.monotonic() - last_change < quiet and time.monotonic() - began < cap:
            await asyncio.sleep(0.05)
            if len(self.slack.calls) != seen:
                seen, last_change = len(self.slack.calls), time.monotonic()
        return max(0.0, last_change - began)


def process_tree(pid: int) -> list[int]:
    """pid and its descendants (`serve --workers N` serves from child processes)."""
    pids, i = [pid], 0
    while i < len(pids):
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pids[i]}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        i += 1
    return pids


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user + system) of a process and its children: (main threads — the event loops, other threads)."""
    tick = os.sysconf("SC_CLK_TCK")
    main = others = 0.0
    for proc in process_tree(pid):
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{proc}/task").iterdir():
                with contextlib.suppress(OSError):
                    fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                    used = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
                    if task.name == str(proc):
                        main += used
                    else:
                        others += used
    return main, others


@dataclass
class Server:
    """A server under test, in its own process."""

    proc: asyncio.subprocess.Process
    port: int
    ready_seconds: float
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def start_server(
    argv: list[str], env: dict[str, str], port: int, log_path: Path, ready_path: str, within: float = 180.0
) -> Server:
    """Launch argv and wait until GET ready_path answers 200; ready_seconds is launch → ready."""
    log = log_path.open("wb")
    began = time.monotonic()
    proc = await asyncio.create_subprocess_exec(*argv, env=env, stdout=log, stderr=log, cwd=str(PROJECT))
    log.close()
    url = f"http://127.0.0.1:{port}{ready_path}"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
        while True:
            if proc.returncode is not None:
                raise RuntimeError(f"{argv[0]} exited with {proc.returncode}; see {log_path}")
            if time.monotonic() - began > within:
                proc.kill()
                raise RuntimeError(f"{argv} not ready within {within}s; see {log_path}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(url) as resp:
                    if resp.status == 200:
                        break
            await asyncio.sleep(0.02)
    return Server(proc, port, time.monotonic() - began, log_path)


async def start_bot(fakes: Fakes, workdir: Path, *, embedded: bool = False, workers: int = 1) -> Server:
    from bot.store.db import create_database

    port = free_port()
    database_url = None if embedded else await create_database(fakes.postgres_url, prefix="bench")
    data_dir = Path(tempfile.mkdtemp(prefix="data-", dir=workdir))
    env = fakes.bot_env(
        port=port, data_dir=data_dir, database_url=database_url, redis_url=None if embedded else fakes.redis_url
    )
    # BENCH_BOT_CMD (space-separated argv) runs another bot command, e.g. a patched copy under /tmp.
    argv = os.environ["BENCH_BOT_CMD"].split() if os.environ.get("BENCH_BOT_CMD") else [str(RUNBOOK_BOT), "serve"]
    if workers > 1:
        argv += ["--workers", str(workers)]
    return await start_server(argv, env, port, workdir / f"bot-{port}.log", "/readyz")


async def run_loadgen(
    url: str, spec: Path, *, concurrency: int, duration: float, mix: str, requests: int | None = None
) -> dict[str, Any]:
    argv = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--url",
        url,
        "--secret",
        SECRET,
        "--spec",
        str(spec),
        "--concurrency",
        str(concurrency),
        "--duration",
        str(duration),
        "--mix",
        mix,
    ]
    if requests is not None:
        argv += ["--requests", str(requests)]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=str(PROJECT)
    )
    limit = CELL_TIMEOUT_SECONDS if requests is None else max(CELL_TIMEOUT_SECONDS, requests / 20)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), duration + limit)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"loadgen failed: {err.decode()[-2000:]}")
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


# ── (a) and (b): the reference servers, run with --serve ──────────────────────


async def serve_reference(kind: str, port: int, slack_api_url: str) -> None:
    from aiohttp import web

    app = web.Application()

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    if kind == "bare":

        async def events(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(status=200)

    else:
        from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
        from slack_bolt.async_app import AsyncAck, AsyncApp
        from slack_sdk.web.async_client import AsyncWebClient

        bolt = AsyncApp(
            client=AsyncWebClient(token="xoxb-sandbox-token", base_url=slack_api_url.rstrip("/") + "/"),
            signing_secret=SECRET,  # Bolt's own request verification stays on
            process_before_response=False,
        )

        async def ack_only(ack: AsyncAck) -> None:
            await ack()

        bolt.command("/runbook")(ack_only)
        bolt.action("runbook_cancel")(ack_only)

        async def events(request: web.Request) -> web.Response:
            bolt_request = await to_bolt_request(request)
            return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


async def start_reference(kind: str, fakes: Fakes, workdir: Path) -> Server:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "bench.ack_path",
        "--serve",
        kind,
        "--port",
        str(port),
        "--slack-api-url",
        fakes.slack.api_url,
    ]
    return await start_server(argv, dict(os.environ), port, workdir / f"{kind}.log", "/healthz", within=60)


# ── the bench ─────────────────────────────────────────────────────────────────

SERVERS = (("a", "bare"), ("b", "bolt"), ("c", "bot"), ("d", "bot×2"))
BOTS = ("c", "d")  # (d) is `runbook-bot serve --workers 2`


async def bench(
    duration: float, concurrencies: list[int], kinds: list[str], warmup: float, servers: list[str]
) -> dict[str, Any]:
    results: dict[tuple[str, str, int], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ack-") as tmp:
        workdir = Path(tmp)
        async with Fakes(workdir) as fakes:
            spec = fakes.loadgen_spec(workdir / "spec.json")
            for label, kind in SERVERS:
                if label not in servers:
                    continue
                if label in BOTS:
                    server = await start_bot(fakes, workdir, workers=2 if label == "d" else 1)
                else:
                    server = await start_reference(kind, fakes, workdir)
                try:
                    await run_loadgen(server.url, spec, concurrency=20, duration=warmup, mix=",".join(kinds))
                    await fakes.drain()
                    for conc in concurrencies:
                        for req_kind in kinds:
                            calls_before = len(fakes.slack.calls)
                            cpu_before = cpu_seconds(server.proc.pid)
                            cell = await run_loadgen(
                                server.url, spec, concurrency=conc, duration=duration, mix=req_kind
                            )
                            cell["drain_s"] = round(await fakes.drain(), 2)
                            cpu_after = cpu_seconds(server.proc.pid)
                            # Server CPU per request, ack and follow-up work included: loop thread, other threads.
                            cell["cpu_ms_loop"] = round(
                                1000 * (cpu_after[0] - cpu_before[0]) / max(1, cell["count"]), 2
                            )
                            cell["cpu_ms_threads"] = round(
                                1000 * (cpu_after[1] - cpu_before[1]) / max(1, cell["count"]), 2
                            )
                            # What the user sees: a status message, or the answer to a click.
                            answer = "chat.postMessage" if req_kind == "status" else "response_url"
                            new_calls = fakes.slack.calls[calls_before:]
                            cell["followups"] = sum(1 for call in new_calls if call.method == answer)
                            cell["slack_calls"] = len(new_calls)
                            cell["followups_per_req"] = round(cell["followups"] / max(1, cell["count"]), 2)
                            results[(label, req_kind, conc)] = cell
                            print(
                                f"  {label}:{kind:<5} {req_kind:<7} c={conc:<4} {cell['rps']:>8.1f} rps  "
                                f"p50 {cell['p50']:>7.2f}  p99 {cell['p99']:>7.2f}  max {cell['max']:>8.2f} ms  "
                                f"errors {cell['errors']}  busy {cell.get('busy', 0)}  follow-ups {cell['followups']}  "
                                f"drain {cell['drain_s']}s",
                                file=sys.stderr,
                            )
                finally:
                    await server.stop()
    return {"results": results}


def report(
    results: dict[tuple[str, str, int], dict[str, Any]], concurrencies: list[int], kinds: list[str], servers: list[str]
) -> bool:
    print("\nAck path (latencies in ms; loadgen in its own process; same machine, same run)\n")
    header = (
        f"{'server':<9} {'request':<8} {'conc':>4} {'req/s':>9} {'p50':>8} {'p99':>8} {'max':>9} {'errors':>6} "
        f"{'busy':>5} {'CPU ms/req loop+thr':>20} {'follow-ups':>10} {'drain s':>8}"
    )
    print(header)
    print("-" * len(header))
    for label, name in SERVERS:
        if label not in servers:
            continue
        for kind in kinds:
            for conc in concurrencies:
                r = results[(label, kind, conc)]
                drain = f"{r['drain_s']:.2f}" if label in BOTS else "-"
                followups = str(r["followups"]) if label in BOTS else "-"
                cpu = f"{r['cpu_ms_loop']:.2f}+{r['cpu_ms_threads']:.2f}"
                print(
                    f"({label}) {name:<5} {kind:<8} {conc:>4} {r['rps']:>9.1f} {r['p50']:>8.2f} {r['p99']:>8.2f} "
                    f"{r['max']:>9.2f} {r['errors']:>6} {r.get('busy', 0):>5} {cpu:>20} {followups:>10} {drain:>8}"
                )
    bots = [label for label in BOTS if label in servers]
    if "b" not in servers:
        return True  # the ratios and targets are against (b)
    print("\nRatios against (b) bolt (same run)\n")
    columns = [f"rps {x}/b" for x in bots] + [f"p99 {x}/b" for x in bots] + [f"CPU {x}/b" for x in bots]
    header = f"{'request':<8} {'conc':>4} " + " ".join(f"{c:>8}" for c in columns)
    print(header)
    print("-" * len(header))
    for kind in kinds:
        for conc in concurrencies:
            b = results[("b", kind, conc)]
            ours = [results[(x, kind, conc)] for x in bots]
            cells = (
                [r["rps"] / b["rps"] for r in ours]
                + [r["p99"] / b["p99"] for r in ours]
                + [cpu_ms(r) / cpu_ms(b) for r in ours]
            )
            print(f"{kind:<8} {conc:>4} " + " ".join(f"{v:>8.2f}" for v in cells))
    print("\nTargets (issue 20)\n")
    ok_all = True
    for kind in kinds:
        for label in bots:
            ok_all &= _check_targets(results, kind, label, concurrencies)
    return ok_all


def cpu_ms(cell: dict[str, Any]) -> float:
    return float(cell["cpu_ms_loop"]) + float(cell["cpu_ms_threads"])


def _check_targets(
    results: dict[tuple[str, str, int], dict[str, Any]], kind: str, label: str, concurrencies: list[int]
) -> bool:
    checks = []
    if 20 in concurrencies:
        b, c = results[("b", kind, 20)], results[(label, kind, 20)]
        checks.append(
            (
                f"≥ {TARGET_RPS_RATIO} × (b) req/s at 20 connections",
                c["rps"] >= TARGET_RPS_RATIO * b["rps"],
                f"{c['rps'] / b['rps']:.2f}×",
            )
        )
        checks.append(
            (f"p99 ack < {TARGET_P99_MS:.0f} ms at 20 connections", c["p99"] < TARGET_P99_MS, f"{c['p99']:.1f} ms")
        )
        checks.append(
            (
                f"CPU per request ≤ {TARGET_CPU_RATIO:g} × (b)'s at 20 connections",
                cpu_ms(c) <= TARGET_CPU_RATIO * cpu_ms(b),
                f"{cpu_ms(c):.2f} vs {cpu_ms(b):.2f} ms ({cpu_ms(c) / cpu_ms(b):.1f}×)",
            )
        )
    if 100 in concurrencies:
        c = results[(label, kind, 100)]
        checks.append(
            (
                "no ack over 1 s at 100 connections",
                c["max"] < TARGET_MAX_MS and c["errors"] == 0,
                f"max {c['max']:.1f} ms, {c['errors']} errors",
            )
        )
    if kind == "status":
        # Every acknowledged status request (busy answers aside) gets its status message, soon.
        for conc in concurrencies:
            c = results[(label, kind, conc)]
            answered = c["count"] - c["errors"] - c.get("busy", 0)
            checks.append(
                (
                    f"every status message posted, the last within {TARGET_DRAIN_S:g} s, c={conc}",
                    c["followups"] >= answered and c["drain_s"] < TARGET_DRAIN_S,
                    f"{c['followups']} of {answered}, {c.get('busy', 0)} busy, drain {c['drain_s']} s",
                )
            )
    ok_all = True
    for name, ok, got in checks:
        ok_all &= ok
        print(f"  [{'PASS' if ok else 'FAIL'}] ({label}) {kind:<7} {name}: {got}")
    return ok_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per cell (default 3)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up per server (default 1)")
    parser.add_argument("--concurrency", default="1,20,100", help="comma-separated (default 1,20,100)")
    parser.add_argument("--kinds", default="status,cancel", help="request kinds (default status,cancel)")
    parser.add_argument(
        "--servers", default="a,b,c,d", help="which servers to run: a bare, b bolt, c bot, d bot --workers 2"
    )
    parser.add_argument("--json", action="store_true", help="also print the raw results as JSON")
    parser.add_argument("--serve", choices=("bare", "bolt"), help=argparse.SUPPRESS)  # internal: run (a) or (b)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--slack-api-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(serve_reference(args.serve, args.port, args.slack_api_url))
        return 0
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    servers = [x.strip() for x in args.servers.split(",") if x.strip()]
    out = asyncio.run(bench(args.duration, concurrencies, kinds, args.warmup, servers))
    ok = report(out["results"], concurrencies, kinds, servers)
    if args.json:
        print(json.dumps({f"{k[0]}:{k[1]}:{k[2]}": v for k, v in out["results"].items()}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
