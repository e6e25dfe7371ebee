#!/usr/bin/env bash
# Creates a virtual environment (default .venv/ in the repo root) and installs inspire_ros
# (editable) with extras. Only the package registry is used.
#   VENV=.venv EXTRAS=dev bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VENV:-.venv}"
extras="${EXTRAS:-dev}"
quiet=(--quiet --disable-pip-version-check)
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# pip prints a warning per missing local index folder on this machine kind: keep the log readable.
"$venv/bin/python" -m pip install "${quiet[@]}" --upgrade "pip>=23" 2>&1 | grep -v '^WARNING: Location' || true
"$venv/bin/python" -m pip install "${quiet[@]}" -e ".[${extras}]" 2>&1 | grep -v '^WARNING: Location' || true
"$venv/bin/python" -c "import inspire_ros, cv2, onnxruntime; print('inspire_ros', inspire_ros.__version__, 'ready in $venv/')"
