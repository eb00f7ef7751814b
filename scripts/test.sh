#!/usr/bin/env bash
# The test command: creates .venv if needed, installs the project with its dev tools and the
# development package sandbox/ (Slack fake, sandbox cluster, shell; its own tiny sandbox/pyproject.toml),
# then runs format check, lint, types, import contracts and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]' -e ./sandbox
.venv/bin/ruff format --check bot sandbox tests bench
.venv/bin/ruff check bot sandbox tests bench
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/pytest "$@"
