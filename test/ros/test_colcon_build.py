"""`colcon build` of inspire_ros_msgs and inspire_ros from the ros-kilted wheels in a scratch
workspace, then the installed node started as `ros2 run` would: from install/ (after
install/setup.sh), its detector found in the install-space models folder, until it is active.

No ROS install here: colcon, ament_cmake and rosidl come from the venv (the ros-build extra).
BUILD_TESTING=OFF because launch_testing_ament_cmake has no wheel."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from inspire_ros import model_store
from inspire_ros.bench.harness import ros_env

pytest.importorskip("colcon_core", reason="colcon is not installed (the ros-build extra of setup.py brings it)")
pytest.importorskip("colcon_ros", reason="colcon-ros is not installed (the ros-build extra of setup.py brings it)")

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
DETECTOR = "yolox_nano_dynamic.onnx"  # what config/default.yaml uses


def _build_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLCON_", "AMENT_", "CMAKE_PREFIX"))}
    # The venv is the underlay: the wheels install ROS packages under its prefix.
    env.update(AMENT_PREFIX_PATH=sys.prefix, CMAKE_PREFIX_PATH=sys.prefix, PATH=f"{VENV_BIN}:{env['PATH']}")
    env.pop("PYTHONPATH", None)
    return env


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    ws = tmp_path_factory.mktemp("colcon_ws")
    (ws / "src").mkdir()
    # The repo root is the inspire_ros package; colcon does not look inside a package for more,
    # so the messages package gets its own entry (as in the Dockerfile and the workflow).
    (ws / "src" / "inspire_ros").symlink_to(ROOT)
    (ws / "src" / "inspire_ros_msgs").symlink_to(ROOT / "inspire_ros_msgs")
    env = _build_env()
    subprocess.run([sys.executable, str(ROOT / "scripts/fix_ros_cmake_paths.py")], check=True, env=env)
    started = time.monotonic()
    build = subprocess.run(
        [str(VENV_BIN / "colcon"), "build", "--event-handlers", "console_direct-", "--cmake-args",
         "-DBUILD_TESTING=OFF", f"-DPython3_EXECUTABLE={sys.executable}"],
        cwd=ws, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    if build.returncode != 0:
        logs = "\n".join(p.read_text()[-3000:] for p in sorted((ws / "log/latest_build").rglob("stdout_stderr.log")))
        pytest.fail(f"colcon build failed:\n{build.stdout[-2000:]}\n{build.stderr[-2000:]}\n{logs}")
    print(f"colcon build: {time.monotonic() - started:.1f} s")
    return ws


def test_colcon_installs_both_packages_where_ros2_run_looks(workspace):
    install = workspace / "install"
    assert (install / "inspire_ros/lib/inspire_ros/anonymizer_node").is_file()
    assert (install / "inspire_ros/share/inspire_ros/config/default.yaml").is_file()
    assert (install / "inspire_ros/share/inspire_ros/models/manifest.yaml").is_file()
    assert (install / "inspire_ros_msgs/share/inspire_ros_msgs/msg/InstanceArray.msg").is_file()
    for pkg in ("inspire_ros", "inspire_ros_msgs"):
        assert (install / pkg / "share/ament_index/resource_index/packages" / pkg).is_file()


@pytest.mark.usefixtures("shared")
def test_installed_node_finds_its_models_in_the_install_and_goes_active(workspace, tmp_path):
    install = workspace / "install"
    models = install / "inspire_ros/share/inspire_ros/models"
    shutil.copy(model_store.resolve(DETECTOR), models / DETECTOR)  # as `inspire models fetch` or a copy would
    env = ros_env(tmp_path / "ros_log")
    env = {k: v for k, v in env.items() if not k.startswith(("COLCON_", "AMENT_", "CMAKE_PREFIX", "INSPIRE_"))}
    env.pop("PYTHONPATH", None)
    # Only the install can hold the detector: no INSPIRE_MODEL_DIR, no shared folder.
    env.update(AMENT_PREFIX_PATH=sys.prefix, PATH=f"{VENV_BIN}:{env['PATH']}", INSPIRE_SHARED=str(tmp_path / "none"))
    script = (
        f". {install}/setup.sh && "
        f"exec {install}/inspire_ros/lib/inspire_ros/anonymizer_node "
        "--ros-args -r __ns:=/colcon_build_test -p autostart:=true"
    )
    proc = subprocess.Popen(
        ["bash", "-c", script], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while not any("]: active: " in line for line in seen):
            assert proc.poll() is None or not lines.empty(), "node exited:\n" + "".join(seen)
            assert time.monotonic() < deadline, "node not active within 60 s:\n" + "".join(seen)
            try:
                seen.append(lines.get(timeout=0.5))
            except queue.Empty:
                pass
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0, "".join(seen)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = "".join(seen)
    # The installed code and its share folder ran, not the checkout.
    assert f"config {install}/inspire_ros/share/inspire_ros/config/default.yaml" in text, text
    assert f"with {DETECTOR}" in text
