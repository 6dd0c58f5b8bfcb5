#!/usr/bin/env bash
# Runs the test suite in the project's virtualenv (`make test` sets it up first).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYSPARK_PYTHON="$PWD/.venv/bin/python"
exec .venv/bin/python -m pytest -q "$@"
