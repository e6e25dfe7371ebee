"""Issue 12 with real processes: the node (its own process, namespace `cam`, `-r image_raw:=
color/image_raw`) derives its other topics from the remapped input, has one publisher per topic
for a camera listed raw and compressed, pairs camera_info with each anonymized image, and refuses
the transports it cannot decode at configure, saying how to republish them."""

from __future__ import annotations

import time
from collections import Counter

import cv2
import pytest
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from inspire_ros.bench.harness import NodeProcess, compressed_msg, image_msg, stamp_ns
from inspire_ros_msgs.msg import InstanceArray

from support import read_video_frames
from support.nodes import active

NS, NODE = "/cam", "anonymizer_remap"
RAW_IN, JPEG_IN, INFO_IN = "/cam/color/image_raw", "/cam/color/image_raw/compressed", "/cam/color/camera_info"
RAW_OUT, JPEG_OUT = "/cam/color/image_raw/anonymized", "/cam/color/image_raw/anonymized/compressed"
INSTANCES, INFO_OUT = "/cam/color/image_raw/anonymized/instances", "/cam/color/image_raw/camera_info"


def _start(tmp_path, name, params, ros_args):
    return NodeProcess(params, tmp_path, name, ros_args=ros_args)


@pytest.fixture(scope="module")
def frames(shared):
    return [cv2.resize(f, (384, 288)) for f in read_video_frames([0, 80, 160])]


@pytest.fixture
def node(shared, tmp_path, ros_client):
    params = {"cameras": ["image_raw", "color/image_raw/compressed"], "input_types": ["raw", "compressed"]}
    params["method"] = "fill"
    proc = _start(tmp_path, NODE, params, ["-r", f"__ns:={NS}", "-r", "image_raw:=color/image_raw"])
    with active(proc):
        yield proc


def _node_topics(client, kind: str) -> set[str]:
    """The node's image, instances and camera_info topics (publishers or subscriptions) in the graph."""
    n = client.node
    get = n.get_publisher_names_and_types_by_node if kind == "pub" else n.get_subscriber_names_and_types_by_node
    try:
        names = get(NODE, NS)
    except Exception:  # noqa: BLE001 - NodeNameNonExistentError until discovery saw the node
        return set()
    return {name for name, _ in names if name.startswith(f"{NS}/") and not name.startswith(f"{NS}/{NODE}/")}


def test_sibling_topics_follow_the_remapped_input_with_one_publisher_each(ros_client, node):
    c = ros_client
    c.wait(lambda: len(_node_topics(c, "pub")) >= 4, 20, "the node's publishers in the graph")
    assert _node_topics(c, "pub") == {RAW_OUT, JPEG_OUT, INSTANCES, INFO_OUT}
    # Subscriptions are created on activate; camera_info from the remapped input's sibling.
    c.wait(lambda: len(_node_topics(c, "sub")) >= 3, 20, "the node's subscriptions in the graph")
    assert _node_topics(c, "sub") == {RAW_IN, JPEG_IN, INFO_IN}
    graph = dict(c.node.get_topic_names_and_types())
    assert "/cam/camera_info" not in graph and "/cam/image_raw/camera_info" not in graph
    assert "/cam/image_raw/anonymized/instances" not in graph
    # Raw and compressed of one camera: one publisher on its camera_info and instances topics.
    assert c.node.count_publishers(INFO_OUT) == 1 and c.node.count_publishers(INSTANCES) == 1
    assert c.node.count_subscribers(INFO_IN) == 1
    assert graph[INFO_OUT] == ["sensor_msgs/msg/CameraInfo"]
    assert graph[INSTANCES] == ["inspire_ros_msgs/msg/InstanceArray"]


def test_camera_info_goes_out_once_per_anonymized_image_with_its_header(ros_client, node, frames):
    c = ros_client
    info_pub = c.publisher(CameraInfo, INFO_IN, reliable=True)
    raw_pub, jpeg_pub = c.publisher(Image, RAW_IN, reliable=True), c.publisher(CompressedImage, JPEG_IN, reliable=True)
    raw_out, jpeg_out = c.subscribe(Image, RAW_OUT), c.subscribe(CompressedImage, JPEG_OUT)
    info_out, instances = c.subscribe(CameraInfo, INFO_OUT), c.subscribe(InstanceArray, INSTANCES)
    for pub in (info_pub, raw_pub, jpeg_pub):
        c.wait_matched(pub)
    time.sleep(1.0)  # discovery on the node's side too

    info = CameraInfo(width=384, height=288, distortion_model="plumb_bob")
    info.header.frame_id = "stale_frame"
    for _ in range(6):  # camera_info at its own rate, before any image: nothing goes out
        info_pub.publish(info)
        time.sleep(0.1)
    time.sleep(1.0)
    assert len(info_out) == 0, "camera_info published without an image"

    sent = [image_msg(f, "bgr8", stamp_ns=10_000_000_000 + i, frame_id="cam_color") for i, f in enumerate(frames)]
    sent += [compressed_msg(f, "jpeg", stamp_ns=20_000_000_000 + i, frame_id="cam_jpeg") for i, f in enumerate(frames)]
    for msg in sent:
        pub, out = (jpeg_pub, jpeg_out) if isinstance(msg, CompressedImage) else (raw_pub, raw_out)
        deadline = time.monotonic() + 30
        while stamp_ns(msg) not in {stamp_ns(m) for m in out.messages()}:  # a repeat covers a lost frame
            assert time.monotonic() < deadline, f"no answer on {out}"
            info_pub.publish(info)
            pub.publish(msg)
            try:
                c.wait(lambda msg=msg, out=out: stamp_ns(msg) in {stamp_ns(m) for m in out.messages()}, 5)
            except TimeoutError:
                continue
    images = raw_out.messages() + jpeg_out.messages()
    c.wait(lambda: len(info_out) >= len(images), 10, "camera_info for every image")
    time.sleep(0.5)
    infos = info_out.messages()
    # One camera_info per output image (raw and compressed alike), with that image's header.
    assert Counter((stamp_ns(m), m.header.frame_id) for m in infos) == Counter(
        (stamp_ns(m), m.header.frame_id) for m in images
    )
    assert {(m.width, m.height, m.distortion_model) for m in infos} == {(384, 288, "plumb_bob")}
    c.wait(lambda: len(instances) >= len(images), 10, "instances for every image")


@pytest.mark.parametrize(
    "cameras, ros_args, topic, transport",
    [
        (["image_raw/zstd"], [], "/cam/image_raw/zstd", "zstd"),
        (["image_raw/ffmpeg"], [], "/cam/image_raw/ffmpeg", "ffmpeg"),
        (["image_raw"], ["-r", "image_raw:=color/image_raw/theora"], "/cam/color/image_raw/theora", "theora"),
        (["depth/image_raw/compressedDepth"], [], "/cam/depth/image_raw/compressedDepth", "compressedDepth"),
    ],
)
def test_transports_the_node_cannot_decode_fail_configure_with_the_way_in(
    tmp_path, ros_client, cameras, ros_args, topic, transport
):
    proc = _start(tmp_path, f"refuse_{transport.lower()}", {"cameras": cameras}, ["-r", f"__ns:={NS}", *ros_args])
    try:
        code = proc.proc.wait(60)
    finally:
        proc.stop()
    log = proc.log()
    assert code == 1, log
    assert "configure failed" in log and topic in log and f"'{transport}'" in log, log
    if transport == "compressedDepth":
        assert "depth topics are not anonymized by the node" in log
    else:
        assert f"ros2 run image_transport republish {transport} raw --ros-args -r in/{transport}:={topic}" in log
        assert "-r out:=" in log
    # Refused before any topic was created: nothing waits forever on the input.
    assert ros_client.node.count_subscribers(topic) == 0
