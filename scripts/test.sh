#!/usr/bin/env bash
# Sets up .venv/ and runs the whole test suite (lint, then pytest) on real data from ../shared.
# The ultralytics backend needs torch 2.14.1 + torchvision (about 6 GB): its tests run in a
# second environment, .venv-ultralytics/ (set INSPIRE_SKIP_EXTRAS=1 to skip them).
set -euo pipefail
cd "$(dirname "$0")/.."
export YOLO_OFFLINE=1 YOLO_CONFIG_DIR="$PWD/.cache/ultralytics" ROS_LOG_DIR="$PWD/.cache/ros_log"
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
if [ "${INSPIRE_SKIP_EXTRAS:-0}" != 1 ]; then
  VENV=.venv-ultralytics EXTRAS=ultralytics,dev bash scripts/setup.sh
  .venv-ultralytics/bin/python -m pytest test/detect/test_ultralytics.py
fi
