#!/usr/bin/env bash
# The whole test suite: installs what is missing, then runs ruff and pytest (unit, integration
# against the local stack, fault injection, infra checks). Extra arguments go to pytest.
set -o errexit -o nounset -o pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
export RAY_USAGE_STATS_ENABLED=0 OMP_THREAD_LIMIT=1 PYTHONUNBUFFERED=1
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
