#!/usr/bin/env bash
# Runs every check CI runs: install (idempotent), lint, type check, static template checks, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"; ruff check shared functions tests bench
echo "== ruff format"; ruff format --check shared functions tests bench
echo "== mypy"; mypy
echo "== pytest"; pytest -q "$@"
