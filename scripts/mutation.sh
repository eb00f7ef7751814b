#!/usr/bin/env bash
# Mutation testing of the safety core (CPU heavy; deliberately not part of scripts/test.sh).
# Prints the mutation score and every surviving mutant; exits 1 below the 90 % target.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python scripts/mutation.py "$@"
