#!/usr/bin/env bash
# Creates .venv/ in the repo root and installs inspire_ros (editable) with its dev tools.
# Only the package registry is used. Extra groups: INSPIRE_EXTRAS="dev,torch" etc.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${INSPIRE_EXTRAS:-dev}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=23" 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[${extras}]" 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c "import inspire_ros, cv2, onnxruntime; print('inspire_ros', inspire_ros.__version__, 'ready in .venv/')"
