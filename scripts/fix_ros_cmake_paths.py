"""Rewrites the build machine's Python and numpy include folders that the ros-kilted wheels'
exported CMake files name, to this environment's, so rosidl can build messages against them.
Idempotent; run with the environment's own python."""

import re
import sys
import sysconfig
from pathlib import Path

import numpy


def main() -> int:
    python_include = sysconfig.get_paths()["include"]
    numpy_include = numpy.get_include()
    fixed = 0
    for path in (Path(sys.prefix) / "share").rglob("*.cmake"):
        text = path.read_text()
        new = re.sub(r"/opt/python/cp3\d+-cp3\d+/include/python3\.\d+", python_include, text)
        new = re.sub(r"/[^;\"\s]*site-packages/numpy/(?:_core|core)/include", numpy_include, new)
        if new != text:
            path.write_text(new)
            fixed += 1
    print(f"fix_ros_cmake_paths: {fixed} CMake files pointed at {python_include}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
