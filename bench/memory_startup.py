"""Memory and start-up: the bot's RSS after start and after many requests; time to /readyz.

The bot runs as `runbook-bot serve` in a subprocess; this process runs the Slack fake, the
sandbox cluster and one embedded PostgreSQL + Redis. RSS is VmRSS (and the peak, VmHWM) from
/proc/<bot pid>/status.

  start-up, embedded   launch → /readyz 200 with no DATABASE_URL/REDIS_URL and a fresh
                       RUNBOOK_DATA_DIR (the bot initialises and starts its own PostgreSQL
                       and Redis: initdb included)
  start-up, external   launch → /readyz 200 with DATABASE_URL/REDIS_URL pointing at the
                       already-running embedded servers (a fresh database, so migrations run)
  RSS                  of the "external" bot after start, then after --requests mixed
                       requests and after --requests more (status, help, Cancel clicks; bench/loadgen.py in its own
                       process, --concurrency connections) and its follow-up work finished

    .venv/bin/python -m bench.memory_startup [--requests 20000] [--concurrency 20] [--startups 1]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

from bench.ack_path import Fakes, Server, run_loadgen, start_bot

TARGET_RSS_MB = 150.0
# Allocator noise: a few MB either way is not growth; a leak of a few hundred bytes per request is 4+ MB.
TARGET_GROWTH_MB = 3.0


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process, in MB (MiB)."""
    fields: dict[str, float] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


async def bench(requests: int, concurrency: int, startups: int) -> dict[str, object]:
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="bench-mem-") as tmp:
        workdir = Path(tmp)
        async with Fakes(workdir) as fakes:
            spec = fakes.loadgen_spec(workdir / "spec.json")
            embedded_times, external_times = [], []
            for _ in range(startups):
                server = await start_bot(fakes, workdir, embedded=True)
                embedded_times.append(server.ready_seconds)
                out["rss_embedded_mode_mb"] = rss_mb(server.proc.pid)[0]
                await server.stop()
            server: Server | None = None
            for n in range(startups):
                server = await start_bot(fakes, workdir, embedded=False)
                external_times.append(server.ready_seconds)
                if n < startups - 1:
                    await server.stop()
            assert server is not None
            try:
                await asyncio.sleep(1.0)  # let start-up tasks settle
                out["rss_start_mb"], _ = rss_mb(server.proc.pid)
                # Two equal rounds: the first shows the working set, the second whether it keeps growing.
                for round_ in ("", "2"):
                    out["load" + round_] = await run_loadgen(
                        server.url,
                        spec,
                        concurrency=concurrency,
                        duration=0,
                        mix="status,help,cancel",
                        requests=requests,
                    )
                    out["drain_s" + round_] = await fakes.drain(quiet=1.0)
                    out["rss_after_mb" + round_], out["hwm_mb" + round_] = rss_mb(server.proc.pid)
            finally:
                await server.stop()
            out["startup_embedded_s"] = embedded_times
            out["startup_external_s"] = external_times
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20000, help="mixed requests between the RSS readings")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--startups", type=int, default=1, help="start-ups timed per mode (median shown)")
    args = parser.parse_args(argv)
    r = asyncio.run(bench(args.requests, args.concurrency, args.startups))
    load, load2 = r["load"], r["load2"]
    assert isinstance(load, dict) and isinstance(load2, dict)
    emb, ext = r["startup_embedded_s"], r["startup_external_s"]
    assert isinstance(emb, list) and isinstance(ext, list)
    print("\nMemory and start-up (`runbook-bot serve` in a subprocess)\n")
    rows = [
        ("start-up to /readyz, embedded DBs (fresh data dir)", f"{statistics.median(emb):.2f} s"),
        ("start-up to /readyz, external DBs", f"{statistics.median(ext):.2f} s"),
        ("start-up ratio embedded / external", f"{statistics.median(emb) / statistics.median(ext):.1f}×"),
        ("RSS after start (external DBs)", f"{r['rss_start_mb']:.1f} MB"),
        ("RSS after start (embedded mode, bot process only)", f"{r['rss_embedded_mode_mb']:.1f} MB"),
        (f"RSS after {load['count']} mixed requests", f"{r['rss_after_mb']:.1f} MB"),
        (f"RSS after {load['count'] + load2['count']} mixed requests", f"{r['rss_after_mb2']:.1f} MB"),
        ("peak RSS (VmHWM)", f"{r['hwm_mb2']:.1f} MB"),
        ("RSS growth over the first round", f"{r['rss_after_mb'] - r['rss_start_mb']:+.1f} MB"),  # type: ignore[operator]
        ("RSS growth over the second round", f"{r['rss_after_mb2'] - r['rss_after_mb']:+.1f} MB"),  # type: ignore[operator]
        (
            f"load: {load['count']} req at c={load['concurrency']}",
            f"{load['rps']} req/s, p50 {load['p50']} ms, p99 {load['p99']} ms, max {load['max']} ms, "
            f"{load['errors']} errors",
        ),
        (
            f"second round: {load2['count']} req",
            f"{load2['rps']} req/s, p50 {load2['p50']} ms, p99 {load2['p99']} ms, max {load2['max']} ms, "
            f"{load2['errors']} errors",
        ),
        ("follow-up drain after each round", f"{r['drain_s']:.2f} s, {r['drain_s2']:.2f} s"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    hwm = float(r["hwm_mb2"])  # type: ignore[arg-type]
    growth = float(r["rss_after_mb2"]) - float(r["rss_after_mb"])  # type: ignore[arg-type]
    ok_rss = hwm < TARGET_RSS_MB
    ok_growth = growth <= TARGET_GROWTH_MB
    print(f"\n  [{'PASS' if ok_rss else 'FAIL'}] RSS < {TARGET_RSS_MB:.0f} MB (peak {hwm:.1f} MB)")
    print(
        f"  [{'PASS' if ok_growth else 'FAIL'}] no growth over the second round "
        f"(≤ {TARGET_GROWTH_MB:.0f} MB: {growth:+.1f} MB)"
    )
    return 0 if ok_rss and ok_growth else 1


if __name__ == "__main__":
    sys.exit(main())
