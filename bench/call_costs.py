"""CPU per call of the pieces every request pays for, each measured on its own (issue 20, round 3).

On a shared 2-core machine the CPU per request of `bench.ack_path` moves ±20 % between runs, more
than most single levers; the pieces measured alone, in this process, with their servers in other
processes, move far less. Each piece runs N times after a warm-up; the figure is this process's CPU
time (user + system) per call, the wall time beside it.

    .venv/bin/python -m bench.call_costs [--loop asyncio|uvloop|both] [--calls 2000]

Pieces: a 3-block status message through slack_sdk's Block Kit models; chat.postMessage through
`SlackWebApi` (slack_sdk's client) and the same request on the bare aiohttp session; a response_url
answer; one JSON log line; the replay check's SET NX, one per request against batched (`Coordinator.
first_time`) at 1, 5 and 20 concurrent requests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.ack_path import free_port

# A Slack Web API stand-in in its own process: answers every POST as chat.postMessage does.
SLACK_STANDIN = r"""
import sys
from aiohttp import web
async def answer(request):
    await request.read()
    return web.json_response({"ok": True, "ts": "1700000000.000100", "channel": "C0OPS"})
app = web.Application()
app.router.add_post("/{tail:.*}", answer)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


async def per_call(label: str, call: Callable[[], Awaitable[object]], n: int, batch: int = 1) -> None:
    for _ in range(50):
        await call()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n // batch):
        await asyncio.gather(*(call() for _ in range(batch))) if batch > 1 else await call()
    calls = (n // batch) * batch
    print(
        f"  {label:<62} {1000 * (time.process_time() - cpu) / calls:6.3f} ms CPU"
        f"  ({1000 * (time.perf_counter() - wall) / calls:6.3f} ms wall)"
    )


async def measure(n: int) -> None:
    import structlog

    from bot import logs
    from bot.coord import Coordinator
    from bot.embedded import EmbeddedServers
    from bot.slack import blocks as bk
    from bot.slack.webapi import SlackWebApi

    port = free_port()
    standin = await asyncio.create_subprocess_exec(sys.executable, "-c", SLACK_STANDIN, str(port))
    api = SlackWebApi(token="xoxb-bench", base_url=f"http://127.0.0.1:{port}/api/", timeout=5)
    try:
        for _ in range(100):  # wait for the stand-in to listen
            with contextlib.suppress(Exception):
                await api.post_message("C0OPS", "up?")
                break
            await asyncio.sleep(0.05)

        def status_blocks() -> list[bk.Block]:
            return [
                bk.header("backend status"),
                bk.section("*Deployment* `mail-score-backend`: 3/3 ready, revision 7", fields=["*Pods*\n3", "*Image*"]),
                bk.context("requested by <@U0ALICE>"),
            ]

        rendered = bk.render(status_blocks())

        async def render() -> None:
            bk.render(status_blocks())

        async def post_message() -> None:
            await api.post_message("C0OPS", "backend status", rendered)

        url, headers = f"http://127.0.0.1:{port}/api/chat.postMessage", {"Authorization": "Bearer xoxb-bench"}
        body = {"channel": "C0OPS", "text": "backend status", "blocks": rendered}

        async def bare_post() -> None:
            async with api._session.post(url, json=body, headers=headers) as response:
                await response.json()

        async def respond() -> None:
            await api.respond(f"http://127.0.0.1:{port}/hooks/T0/1/x", "done")

        await per_call("Block Kit: a 3-block message through slack_sdk models", render, n)
        await per_call("chat.postMessage through SlackWebApi (slack_sdk client)", post_message, n)
        await per_call("the same POST on the bare aiohttp session", bare_post, n)
        await per_call("response_url answer through SlackWebApi (slack_sdk webhook)", respond, n)
    finally:
        await api.close()
        standin.terminate()
        await standin.wait()

    with io.StringIO() as sink:
        logs.configure(level="INFO", fmt="json", secrets=["bench-secret-value"], stream=sink)
        log = structlog.get_logger("bench")
        structlog.contextvars.bind_contextvars(request_id="0123456789ab", kind="slash_command", user="U0ALICE")

        async def log_line() -> None:
            log.info("runbook command", user="U0ALICE", channel="C0OPS", command="status")

        await per_call("one JSON log line (bot.logs)", log_line, n)
        structlog.contextvars.clear_contextvars()

    with tempfile.TemporaryDirectory(prefix="bench-costs-") as tmp:
        embedded = EmbeddedServers(Path(tmp))
        coord = Coordinator(await asyncio.to_thread(embedded.redis_url), timeout=2, prefix="bench-costs:")
        try:

            async def one_set() -> None:  # the replay check before batching: one SET NX per request
                await coord._redis.set(coord._key("once", uuid.uuid4().hex), "1", nx=True, ex=60)

            async def batched() -> None:
                await coord.first_time(uuid.uuid4().hex, ttl_seconds=60)

            for concurrent in (1, 5, 20):
                await per_call(f"replay check, one SET NX each, {concurrent:>2} concurrent", one_set, n, concurrent)
                await per_call(
                    f"replay check, batched (first_time), {concurrent:>2} concurrent", batched, n, concurrent
                )
        finally:
            await coord.close()
            await asyncio.to_thread(embedded.close)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loop", choices=("asyncio", "uvloop", "both"), default="both")
    parser.add_argument("--calls", type=int, default=2000, help="calls per piece (default 2000)")
    args = parser.parse_args(argv)
    for loop in ("asyncio", "uvloop") if args.loop == "both" else (args.loop,):
        print(f"\nCPU per call, {loop} event loop, {args.calls} calls each\n")
        if loop == "uvloop":
            import uvloop

            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(measure(args.calls))
        else:
            asyncio.run(measure(args.calls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
