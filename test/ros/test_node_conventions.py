"""ROS conventions of the node in its own process: lifecycle publishers, qos_overrides,
diagnostics per camera (hardware_id, frequency and timestamp checks), optional vision_msgs
detections, and depth frames refused as depth (not as failures)."""

from __future__ import annotations

import array
import time

import cv2
import numpy as np
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from inspire_ros.bench.harness import NodeProcess, Received, image_msg, stamp_ns, status_values
from inspire_ros.paths import config_dir

from support import read_video_frames
from support.nodes import active

pytestmark = pytest.mark.usefixtures("shared")  # real data or the default detector from the shared folder

NODE = "anonymizer_conventions"
CAM, DEPTH = "conv/image_raw", "conv/depth/image_raw"
OUT = f"/{CAM}/anonymized"

try:
    import vision_msgs.msg as vision_msgs
except ImportError:  # the ros-kilted-vision-msgs wheel is not on PyPI
    vision_msgs = None


@pytest.fixture(scope="module")
def node(tmp_path_factory, ros_client):
    params = {
        "cameras": [CAM, DEPTH],
        "input_types": ["raw"],
        "config_file": str(config_dir() / "weight_free.yaml"),
        "hardware_ids": ["color-serial-0001", "depth-serial-0002"],
        "publish_detections": True,
        "diagnostics_period": 0.5,
        "qos_overrides": {
            OUT: {"publisher": {"reliability": "best_effort", "depth": 3}},
            f"/{CAM}": {"subscription": {"reliability": "reliable"}},
        },
    }
    proc = NodeProcess(params, tmp_path_factory.mktemp("node_conventions"), NODE)
    with active(proc):
        yield proc


@pytest.fixture(scope="module")
def frames():
    return read_video_frames([0, 40, 80])


def _output(client) -> Received:
    """The output, best effort as its qos_overrides say (a reliable reader would not match)."""
    received = Received()
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)
    client.node.create_subscription(Image, OUT, received, qos)
    return received


def _now_ns(client) -> int:
    return client.node.get_clock().now().nanoseconds


def _roundtrip(client, pub, received, msg, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not any(stamp_ns(m) == stamp_ns(msg) for m in received.messages()):
        assert time.monotonic() < deadline, f"no answer on {pub.topic_name}"
        pub.publish(msg)
        time.sleep(0.5)


def _depth_msg(frame: np.ndarray, stamp: int) -> Image:
    """A 16UC1 depth map in mm from a real frame (nearer where darker, a band of missing depth)."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    depth = (1500.0 + 12.0 * gray).astype("<u2")
    depth[:, :16] = 0
    msg = Image(height=depth.shape[0], width=depth.shape[1], encoding="16UC1", is_bigendian=0, step=depth.shape[1] * 2)
    msg.header.frame_id = "depth_optical"
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
    msg.data = array.array("B", depth.tobytes())
    return msg


def test_qos_overrides_parameters_set_the_endpoints_qos(ros_client, node):
    graph = ros_client.node
    ros_client.wait(lambda: graph.get_publishers_info_by_topic(OUT), 20, "the output publisher")
    (pub,) = graph.get_publishers_info_by_topic(OUT)
    assert pub.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT  # default: reliable

    def node_subs(topic):
        return [s for s in graph.get_subscriptions_info_by_topic(topic) if s.node_name == NODE]

    ros_client.wait(lambda: node_subs(f"/{CAM}") and node_subs(f"/{DEPTH}"), 20, "the node's subscriptions")
    (sub,) = node_subs(f"/{CAM}")
    assert sub.qos_profile.reliability == ReliabilityPolicy.RELIABLE  # default: best effort
    # the depth camera keeps the profile of the qos.* parameters
    (depth_sub,) = node_subs(f"/{DEPTH}")
    assert depth_sub.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT


def test_diagnostics_per_camera_hardware_id_frequency_and_timestamps(ros_client, node, frames):
    out = _output(ros_client)
    pub = ros_client.publisher(Image, CAM, reliable=True)
    ros_client.wait_matched(pub)
    diag = ros_client.diagnostics()
    for i, frame in enumerate(frames):
        _roundtrip(ros_client, pub, out, image_msg(frame, "bgr8", stamp_ns=_now_ns(ros_client) + i))
    ros_client.wait(lambda: len(diag) >= 2, 10, "diagnostics")
    last = diag.messages()[-1]
    cam = next(s for s in last.status if s.name.endswith(CAM))
    assert cam.hardware_id == "color-serial-0001"
    values = status_values(last, CAM)
    for key in ("received", "published", "stale_dropped", "dropped_on_error", "depth_refused", "tracks"):
        assert key in values, key
    assert int(values["published"]) >= len(frames) and values["depth_refused"] == "0"
    assert status_values(last, ": anonymizer")["preset"] == "live"
    # diagnostic_updater's TopicDiagnostic for the output: frequency and timestamp checks
    topic = [s for s in last.status if s.name.endswith(f"{OUT} topic status")]
    assert topic and topic[0].hardware_id == "color-serial-0001"
    seen = [status_values(d, f"{OUT} topic status") for d in diag.messages()]
    assert any(int(v["Events since startup"]) >= len(frames) for v in seen)
    assert any(float(v["Latest timestamp delay:"]) > 0 and v["level"] == "0" for v in seen), seen
    assert "Actual frequency (Hz)" in seen[-1]


def test_depth_frames_are_refused_counted_and_logged_once_never_published(ros_client, node, frames):
    out = ros_client.subscribe(Image, f"/{DEPTH}/anonymized")
    pub = ros_client.publisher(Image, DEPTH, reliable=True)
    ros_client.wait_matched(pub)
    time.sleep(1.0)
    diag = ros_client.diagnostics()
    sent = 0
    deadline = time.monotonic() + 30
    while True:  # until the node counted depth frames (the first may be lost to discovery)
        pub.publish(_depth_msg(frames[sent % len(frames)], _now_ns(ros_client)))
        sent += 1
        time.sleep(0.3)
        values = status_values(diag.messages()[-1], DEPTH) if len(diag) else None
        if values and int(values["depth_refused"]) >= 3:
            break
        assert time.monotonic() < deadline, node.log_tail()
    time.sleep(1.0)
    assert len(out) == 0, "a depth frame was published"
    values = status_values(diag.messages()[-1], DEPTH)
    assert values["dropped_on_error"] == "0" and values["failed"] == "0" and values["published"] == "0"
    assert int(values["received"]) == int(values["depth_refused"]) + int(values["stale_dropped"])
    warned = [status_values(d, DEPTH) for d in diag.messages() if status_values(d, DEPTH)["level"] == "1"]
    assert warned, "no WARN for the depth frames"
    assert all(status_values(d, DEPTH)["level"] != "2" for d in diag.messages())  # not an ERROR
    depth_status = next(s for s in diag.messages()[-1].status if s.name.endswith(DEPTH))
    assert depth_status.hardware_id == "depth-serial-0002"
    log = node.log()
    assert log.count("depth frames ('16UC1') are refused") == 1, log
    assert "bag tool's `depth` policy" in log


def test_publish_detections_beside_instances(ros_client, node, frames):
    node_values = None

    def node_status():
        nonlocal node_values
        msgs = diag.messages()
        node_values = status_values(msgs[-1], ": anonymizer") if msgs else None
        return node_values is not None

    diag = ros_client.diagnostics()
    ros_client.wait(node_status, 10, "diagnostics")
    if vision_msgs is None:
        assert node_values["detections"].startswith("unavailable: vision_msgs is not installed")
        assert "publish_detections: vision_msgs is not installed" in node.log()
        return
    assert node_values["detections"] == "on"
    dets = ros_client.subscribe(vision_msgs.Detection2DArray, f"{OUT}/detections")
    out = _output(ros_client)
    pub = ros_client.publisher(Image, CAM, reliable=True)
    ros_client.wait_matched(pub)
    msg = image_msg(frames[1], "bgr8", stamp_ns=_now_ns(ros_client))
    _roundtrip(ros_client, pub, out, msg)
    ros_client.wait(lambda: any(stamp_ns(d) == stamp_ns(msg) for d in dets.messages()), 10, "detections")
    got = next(d for d in dets.messages() if stamp_ns(d) == stamp_ns(msg))
    assert got.detections and {d.results[0].hypothesis.class_id for d in got.detections} <= {"person", "car"}


def test_lifecycle_publishers_stay_while_inactive_and_publish_only_when_active(ros_client, node, frames):
    out = _output(ros_client)
    pub = ros_client.publisher(Image, CAM, reliable=True)
    ros_client.wait_matched(pub)
    assert ros_client.transition(NODE, "deactivate") and ros_client.state(NODE) == "inactive"
    # created on configure, gated by the lifecycle state: still in the graph, silent
    assert ros_client.node.get_publishers_info_by_topic(OUT)
    out.clear()
    for i in range(3):
        pub.publish(image_msg(frames[0], "bgr8", stamp_ns=_now_ns(ros_client) + i))
        time.sleep(0.2)
    time.sleep(1.0)
    assert len(out) == 0
    assert ros_client.transition(NODE, "activate") and ros_client.state(NODE) == "active"
    ros_client.wait_matched(pub)
    _roundtrip(ros_client, pub, out, image_msg(frames[2], "bgr8", stamp_ns=_now_ns(ros_client)))
