#!/usr/bin/env bash
# The first command: installs the project into .venv if needed and starts `runbook-bot shell`
# (the whole bot on embedded PostgreSQL and Redis, the local Slack fake and the sandbox cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/runbook-bot ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e . -e ./sandbox
fi
# From the checkout, so the development package sandbox/ (Slack fake, sandbox cluster) is importable
# even in a .venv installed before it moved out of bot/ (`python -m` puts the working directory first).
exec .venv/bin/python -m bot.cli shell "$@"
