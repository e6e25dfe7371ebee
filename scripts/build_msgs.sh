#!/usr/bin/env bash
# Builds the instance messages in msg/ with rosidl from the ros-kilted wheels and installs them
# for a pip install of inspire_ros: the libraries into $VENV/lib (on the wheels' library path),
# the generated Python (inspire_ros.msg and its type support) next to the imported inspire_ros
# package. Inside a ROS 2 workspace `colcon build` does this from CMakeLists.txt instead.
#   VENV=.venv bash scripts/build_msgs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(cd "${VENV:-.venv}" && pwd)"
py="$venv/bin/python"
# CMake refuses exported include folders inside its source folder, and the venv may live in the
# repo: build from a copy of the three files rosidl needs.
work="$PWD/.cache/interfaces-$(basename "$venv")"
rm -rf "$work"
mkdir -p "$work/src"
cp -r package.xml CMakeLists.txt msg "$work/src/"
"$py" scripts/fix_ros_cmake_paths.py
export AMENT_PREFIX_PATH="$venv" CMAKE_PREFIX_PATH="$venv" PATH="$venv/bin:$PATH"
if ! { cmake -S "$work/src" -B "$work/build" -DINSPIRE_INTERFACES_ONLY=ON -DBUILD_TESTING=OFF \
         -DCMAKE_INSTALL_PREFIX="$work/install" -DPython3_EXECUTABLE="$py" &&
       cmake --build "$work/build" -j "$(nproc)" &&
       cmake --install "$work/build"; } >"$work/build.log" 2>&1; then
  tail -40 "$work/build.log"
  echo "build_msgs: rosidl build failed (full log: $work/build.log)" >&2
  exit 1
fi
pkg="$("$py" -c 'import inspire_ros, os; print(os.path.dirname(inspire_ros.__file__))')"
generated="$(echo "$work"/install/lib/python3*/site-packages/inspire_ros)"
cp "$work"/install/lib/lib*.so "$venv/lib/"
rm -rf "$pkg/msg"
cp -r "$generated/msg" "$pkg/msg"
cp "$generated"/*.so "$pkg/"
"$py" -c "from inspire_ros.msg import InstanceArray; print('inspire_ros.msg ready:', InstanceArray.__name__)"
