"""Drive a real `anonymizer_node` process from Python: start it with parameters, publish frames
at it, collect what comes back, call its lifecycle and parameter services.

Used by the ROS benchmark (`inspire ros-bench`) and the tests (test/ros); both run the node in
its own process, exactly as a launch file would.
"""

from __future__ import annotations

import array
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import rclpy
import yaml
from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rcl_interfaces.srv import SetParameters
from rclpy.executors import MultiThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image

from ..io import encodings
from ..memory import status_mb

TRANSITIONS = {
    "configure": Transition.TRANSITION_CONFIGURE,
    "activate": Transition.TRANSITION_ACTIVATE,
    "deactivate": Transition.TRANSITION_DEACTIVATE,
    "cleanup": Transition.TRANSITION_CLEANUP,
}


def ros_env(log_dir: str | Path | None = None) -> dict[str, str]:
    """The environment for a node process: large-data transport for images (the default
    transports drop frames at 768x576), logs where they can be written."""
    env = dict(os.environ)
    env.setdefault("FASTDDS_BUILTIN_TRANSPORTS", "LARGE_DATA")
    env.setdefault("ROS_LOG_DIR", str(log_dir or Path(tempfile.gettempdir()) / "inspire_ros_log"))
    env.setdefault("RCUTILS_COLORIZED_OUTPUT", "0")
    return env


class NodeProcess:
    """`python -m inspire_ros.ros.node` with a params file, in its own process."""

    def __init__(
        self,
        params: dict[str, Any],
        workdir: Path,
        name: str = "anonymizer",
        env: dict | None = None,
        params_files: list[Path] = (),
        ros_args: list[str] = (),
    ):
        """`params_files` are read first, `params` (written to a file here) override them;
        `ros_args` are more `--ros-args` (namespace, remapping rules)."""
        self.name = name
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.params_file = self.workdir / f"{name}.params.yaml"
        self.params_file.write_text(yaml.safe_dump({"/**": {"ros__parameters": params}}))
        self.log_file = self.workdir / f"{name}.log"
        cmd = [sys.executable, "-m", "inspire_ros.ros.node", "--ros-args"]
        for f in [*params_files, self.params_file]:
            cmd += ["--params-file", str(f)]
        cmd += ["-r", f"__node:={name}", *ros_args]
        with open(self.log_file, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env or ros_env(self.workdir))

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def wait_log(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode} before {text!r}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"node did not log {text!r} within {timeout} s:\n{self.log()}")
            time.sleep(0.1)

    def rss_mb(self) -> float:
        return status_mb("VmRSS", self.proc.pid) or 0.0

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20.0) -> int:
        """Send `sig` and wait up to `timeout` s: the node's exit code (0 for a clean shutdown),
        or its code already when it had exited before. A node still running after `timeout` is
        killed, so no process is left behind, and NodeDidNotExit says so with the log's tail
        (rather than a bare -9 for the caller to puzzle over)."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        try:
            self.proc.send_signal(sig)
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            raise NodeDidNotExit(
                f"node {self.name!r} (pid {self.proc.pid}) did not exit within {timeout:g} s after "
                f"{_signal_name(sig)} and was killed with SIGKILL; {self.log_file}, last lines:\n"
                f"{self.log_tail()}"
            ) from None
        except BaseException:  # interrupted while waiting: leave no orphan behind
            self._kill()
            raise

    def _kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log().splitlines()[-lines:])
        except OSError as e:
            return f"(log unreadable: {e})"


class NodeDidNotExit(AssertionError):
    """NodeProcess.stop(): the node ignored the signal until the timeout and was killed."""


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


class Received:
    """Messages collected by a subscription, with their arrival time (time.monotonic())."""

    def __init__(self):
        self.items: list[tuple[Any, float]] = []
        self.lock = threading.Lock()

    def __call__(self, msg) -> None:
        with self.lock:
            self.items.append((msg, time.monotonic()))

    def __len__(self) -> int:
        with self.lock:
            return len(self.items)

    def messages(self) -> list[Any]:
        with self.lock:
            return [m for m, _ in self.items]

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


class Client:
    """An rclpy node in this process, spun by a background executor."""

    def __init__(self, name: str = "inspire_client"):
        if not rclpy.ok():
            rclpy.init()
        self.node = rclpy.create_node(name)
        self.executor = MultiThreadedExecutor(num_threads=2)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()

    def publisher(self, msg_type, topic: str, reliable: bool = False, depth: int = 1):
        reliability = ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT
        qos = QoSProfile(depth=depth, reliability=reliability)
        return self.node.create_publisher(msg_type, topic, qos)

    def subscribe(self, msg_type, topic: str, depth: int = 50) -> Received:
        received = Received()
        qos = QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE)
        self.node.create_subscription(msg_type, topic, received, qos)
        return received

    def diagnostics(self) -> Received:
        return self.subscribe(DiagnosticArray, "/diagnostics", 10)

    def wait(self, condition: Callable[[], bool], timeout: float, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.05)

    def wait_matched(self, publisher, timeout: float = 30.0) -> None:
        self.wait(lambda: publisher.get_subscription_count() > 0, timeout, f"a subscriber on {publisher.topic_name}")

    def _call(self, srv_type, name: str, request, timeout: float = 30.0):
        client = self.node.create_client(srv_type, name)
        try:
            if not client.wait_for_service(timeout_sec=timeout):
                raise TimeoutError(f"service {name} not available")
            future = client.call_async(request)
            self.wait(future.done, timeout, f"a reply from {name}")
            return future.result()
        finally:
            self.node.destroy_client(client)

    def transition(self, node: str, transition: str) -> bool:
        req = ChangeState.Request()
        req.transition.id = TRANSITIONS[transition]
        return self._call(ChangeState, f"/{node}/change_state", req).success

    def state(self, node: str) -> str:
        return self._call(GetState, f"/{node}/get_state", GetState.Request()).current_state.label

    def set_parameters(self, node: str, values: dict[str, Any]) -> list[tuple[bool, str]]:
        req = SetParameters.Request()
        req.parameters = [Parameter(k, value=v).to_parameter_msg() for k, v in values.items()]
        return [(r.successful, r.reason) for r in self._call(SetParameters, f"/{node}/set_parameters", req).results]


def image_msg(frame: np.ndarray, encoding: str = "bgr8", stamp_ns: int = 0, frame_id: str = "camera") -> Image:
    raw = encodings.encode_bgr(frame, encoding)
    msg = Image(height=raw.height, width=raw.width, encoding=encoding, is_bigendian=raw.is_bigendian, step=raw.step)
    msg.header.frame_id = frame_id
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(int(stamp_ns), 1_000_000_000)
    msg.data = array.array("B", raw.data)
    return msg


def compressed_msg(frame: np.ndarray, fmt: str = "jpeg", stamp_ns: int = 0, frame_id: str = "camera"):
    ok, buf = cv2.imencode(".png" if fmt == "png" else ".jpg", frame)
    if not ok:
        raise ValueError(f"cannot encode a {frame.shape} frame as {fmt}")
    msg = CompressedImage(format=fmt)
    msg.header.frame_id = frame_id
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(int(stamp_ns), 1_000_000_000)
    msg.data = array.array("B", buf.tobytes())
    return msg


def stamp_ns(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def status_values(diag: DiagnosticArray, name_suffix: str) -> dict[str, str] | None:
    """Key/values of the status whose name ends with `name_suffix` (plus "level": 0 OK, 1 WARN,
    2 ERROR), or None when absent."""
    for status in diag.status:
        if status.name.endswith(name_suffix):
            level = status.level[0] if isinstance(status.level, bytes) else int(status.level)
            return {kv.key: kv.value for kv in status.values} | {"level": str(level)}
    return None
