#!/usr/bin/env bash
# Builds the message package inspire_ros_msgs/ with rosidl from the ros-kilted wheels and installs
# it into the venv as a ROS prefix: its Python module into site-packages (importable as
# inspire_ros_msgs.msg with no variables set), its type support libraries into $VENV/lib, its
# share/ and ament index entry into $VENV/share. Inside a ROS 2 workspace `colcon build` does this
# from inspire_ros_msgs/CMakeLists.txt instead.
#   VENV=.venv bash scripts/build_msgs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(cd "${VENV:-.venv}" && pwd)"
py="$venv/bin/python"
# CMake refuses exported include folders inside its source folder, and the venv may live in the
# repo: build from a copy of the package.
work="$PWD/.cache/inspire_ros_msgs-$(basename "$venv")"
rm -rf "$work"
mkdir -p "$work"
cp -r inspire_ros_msgs "$work/src"
# Messages generated into inspire_ros/ before inspire_ros_msgs existed would shadow nothing but
# still be picked up by old imports: remove them.
rm -rf inspire_ros/msg inspire_ros/inspire_ros_s__rosidl_typesupport_*.so "$venv"/lib/libinspire_ros__rosidl_*.so
"$py" scripts/fix_ros_cmake_paths.py
export AMENT_PREFIX_PATH="$venv" CMAKE_PREFIX_PATH="$venv" PATH="$venv/bin:$PATH"
if ! { cmake -S "$work/src" -B "$work/build" -DBUILD_TESTING=OFF \
         -DCMAKE_INSTALL_PREFIX="$venv" -DPython3_EXECUTABLE="$py" &&
       cmake --build "$work/build" -j "$(nproc)" &&
       cmake --install "$work/build"; } >"$work/build.log" 2>&1; then
  tail -40 "$work/build.log"
  echo "build_msgs: rosidl build failed (full log: $work/build.log)" >&2
  exit 1
fi
"$py" -c "from inspire_ros_msgs.msg import InstanceArray; print('inspire_ros_msgs.msg ready:', InstanceArray.__name__)"
