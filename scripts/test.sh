#!/usr/bin/env bash
# Runs every check CI runs: install (idempotent), lint, type checks, template checks, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"; ruff check shared functions tests bench
echo "== ruff format"; ruff format --check shared functions tests bench
echo "== mypy"; mypy
# Each function's entry point is a module named `app`, so they are checked one at a time.
echo "== mypy functions"; for f in functions/*/app.py; do mypy --no-error-summary "$f"; done

# The SAM CLI pins its own boto3 and pydantic, so the template tools live in their own venv.
if [ ! -x .venv-sam/bin/sam ] || [ ! -x .venv-sam/bin/cfn-lint ]; then
  echo "== installing the template tools into .venv-sam"
  python3 -m venv .venv-sam
  .venv-sam/bin/python -m pip install -q "aws-sam-cli==1.170.0" "cfn-lint==1.58.0" \
    2> >(grep -v "is ignored: it is neither a file" >&2)
fi
echo "== cfn-lint"; .venv-sam/bin/cfn-lint template.yaml
echo "== sam validate --lint"; SAM_CLI_TELEMETRY=0 .venv-sam/bin/sam validate --lint --region us-east-1

echo "== pytest"; pytest -q "$@"
