"""`runbook-bot serve --workers N`: N processes answer on one port; they start and stop as one."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from tests.conftest import SIGNING_SECRET
from tests.reliability.conftest import ServeFactory, ServeProcess

# Real processes and real waits: scheduled first, so they overlap the short tests (tests/conftest.py).
pytestmark = pytest.mark.slow


def children(process: ServeProcess) -> list[int]:
    assert process.process is not None
    pid = process.process.pid
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def listening(process: ServeProcess) -> int:
    """How many workers logged "listening" on the shared port."""
    lines = [json.loads(line) for line in process.log().splitlines() if line.startswith("{")]
    return sum(1 for line in lines if line.get("event") == "listening" and line.get("port") == process.port)


async def exited(process: ServeProcess, within: float = 30.0) -> int:
    assert process.process is not None
    async with asyncio.timeout(within):
        while True:
            code = process.process.poll()
            if code is not None:
                return code
            await asyncio.sleep(0.1)


async def test_two_workers_share_the_port_answer_requests_and_stop_together(
    serve_processes: ServeFactory, slack: SlackFake
) -> None:
    served = serve_processes("serve", "--workers", "2")
    await served.start()
    workers = children(served)
    assert len(workers) == 2
    # /readyz answered from one worker; the other may still be starting.
    async with asyncio.timeout(60):
        while True:
            if listening(served) == 2:  # both workers listen on the same port (SO_REUSEPORT)
                break
            await asyncio.sleep(0.2)

    for n in range(6):  # a new connection each time: the kernel spreads connections over the workers
        async with SlackUser(served.url, slack, SIGNING_SECRET, user_id="U0ALICE", channel_id="C0OPS") as alice:
            reply = await alice.slash_command("status backend" if n % 2 else "status frontend")
            assert reply.status == 200
    await slack.wait_for(lambda: len(slack.calls_to("chat.postMessage")) >= 6 or None, 30)

    assert served.process is not None
    served.process.send_signal(signal.SIGTERM)
    assert await exited(served) == 0
    assert not any(alive(pid) for pid in workers)


async def test_a_worker_that_dies_takes_the_others_down_so_the_supervisor_restarts_the_set(
    serve_processes: ServeFactory,
) -> None:
    served = serve_processes("serve", "--workers", "2")
    await served.start()
    first, second = children(served)
    os.kill(first, signal.SIGKILL)
    assert await exited(served) == 1
    assert not alive(second)


def test_workers_need_a_positive_count_and_a_fixed_port(tmp_path: Path) -> None:
    env = {**os.environ, "PORT": "0", "RUNBOOK_DATA_DIR": str(tmp_path)}
    for args, expected in ((["--workers", "0"], "--workers: need at least 1"), (["--workers", "2"], "fixed port")):
        done = subprocess.run(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "bot.cli", "serve", *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 2, done.stderr
        assert expected in done.stderr
