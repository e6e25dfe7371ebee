#!/usr/bin/env bash
# Sets up .venv/ and runs the whole test suite (lint, then pytest) on real data from ../shared.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
