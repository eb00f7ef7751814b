#!/usr/bin/env bash
# The test command: creates .venv if needed, installs the project with its dev tools and the
# development package sandbox/ (Slack fake, sandbox cluster, shell; its own tiny sandbox/pyproject.toml),
# then runs format check, lint, types, import contracts and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
# The compose tests run a private dockerd (tests/docker): install the engine, docker-compose 1.x and a
# static busybox (the tests' image) when they are missing and we may (root, apt). Otherwise they skip, saying why.
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]' -e ./sandbox
# Editable installs are not byte-compiled, and where PYTHONDONTWRITEBYTECODE is set no process writes a
# .pyc: every bot the tests start in a subprocess would compile bot/ and sandbox/ again (~0.5 s of CPU each).
.venv/bin/python -m compileall -q bot sandbox tests
.venv/bin/ruff format --check bot sandbox tests bench
.venv/bin/ruff check bot sandbox tests bench
# What a bot's start-up works out (compiled templates, the template check: bot/compiled.py) is kept in one
# folder for the collection below, the parallel run and the solo run, not worked out again by each
# (the solo run took 30 s with a folder of its own, 15 s with theirs); removed when the script ends.
if [ -z "${RUNBOOK_CACHE_DIR:-}" ]; then
  RUNBOOK_CACHE_DIR=$(mktemp -d -t runbook-bot-compiled-XXXXXX)
  export RUNBOOK_CACHE_DIR
  trap 'rm -rf "$RUNBOOK_CACHE_DIR"' EXIT
fi
# pytest rewrites the asserts of each test module it imports and caches the result only where bytecode may
# be written: every xdist worker would rewrite all of them again (~4 s of CPU each). One collection writes
# them once, on the core mypy leaves idle; a collection error shows in the run below.
env -u PYTHONDONTWRITEBYTECODE .venv/bin/pytest --collect-only -q -p no:cacheprovider >/dev/null 2>&1 &
collecting=$!
.venv/bin/mypy
.venv/bin/lint-imports
wait "$collecting" || true
# The suite runs on pytest-xdist workers (each with its own embedded PostgreSQL and Redis; the compose tests
# share one worker and its dockerd). A bot test spends more than half its time waiting (on PostgreSQL, a
# subprocess, a fake's answer), so five workers keep 2 cores busy where three left them idle about a third
# of the time (2 min 15 s against 3 min 11 s on this 2-core machine). Tests marked `solo` assert speed,
# so they run alone afterwards.
.venv/bin/pytest -n "${PYTEST_WORKERS:-5}" --dist loadgroup -m "not solo" "$@"
solo=0
.venv/bin/pytest -m solo "$@" || solo=$?
[ "$solo" -eq 0 ] || [ "$solo" -eq 5 ]  # 5: the arguments selected no solo test
