"""A pytest plugin that records each test's CPU, to find where the suite's time goes (CONTRIBUTING,
"What keeps the suite fast"). One line per test: own CPU s, CPU of reaped child processes s, wall s, id,
start (Unix time), xdist worker (an id may hold spaces: read the first three and the last two fields).

    PYTHONPATH=bench CPU_PER_TEST=/tmp/cpu.txt .venv/bin/pytest -p pytest_cpu -n 5 -m "not solo"
    awk '{own += $1; children += $2} END {print own, children}' /tmp/cpu.txt

Child processes count once they are reaped (subprocess bots, kubectl, docker-compose); servers that
outlive a test (the session's PostgreSQL and Redis) count in no test: measure the whole run in a cgroup."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator

import pytest


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    own, children = _cpu()
    started = time.time()  # wall clock: starts line up across workers
    yield
    own_after, children_after = _cpu()
    with open(os.environ.get("CPU_PER_TEST", "cpu-per-test.txt"), "a", encoding="utf-8") as out:
        seconds = time.time() - started
        worker = os.environ.get("PYTEST_XDIST_WORKER", "-")
        cpu = f"{own_after - own:.3f} {children_after - children:.3f}"
        out.write(f"{cpu} {seconds:.3f} {item.nodeid} {started:.2f} {worker}\n")
