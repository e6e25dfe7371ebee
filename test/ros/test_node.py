"""The node in its own process, fed real vtest.avi frames from this one: what comes out."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from inspire_ros.bench.harness import NodeProcess, compressed_msg, image_msg, stamp_ns, status_values
from inspire_ros.io import encodings
from inspire_ros.io.image_msgs import raw_image
from inspire_ros_msgs.msg import InstanceArray

from support import read_video_frames
from support.nodes import active

pytestmark = pytest.mark.usefixtures("shared")  # real data or the default detector from the shared folder

NODE = "anonymizer_io"
RAW, JPEG, AUTO = "cam_raw/image_raw", "cam_jpeg/image_raw/compressed", "cam_auto/image"


@pytest.fixture(scope="module")
def frames():
    # Frames with several pedestrians (PETS09) at 768x576.
    return read_video_frames([0, 40, 80, 120, 160, 200])


@pytest.fixture(scope="module")
def node(tmp_path_factory, ros_client):
    proc = NodeProcess({"cameras": [RAW, JPEG, AUTO]}, tmp_path_factory.mktemp("node_io"), NODE)
    with active(proc):
        yield proc


@pytest.fixture(scope="module")
def io(node, ros_client):
    c = ros_client
    pubs = {RAW: c.publisher(Image, RAW, reliable=True), JPEG: c.publisher(CompressedImage, JPEG, reliable=True)}
    pubs[AUTO] = c.publisher(Image, AUTO, reliable=True)
    subs = {
        RAW: c.subscribe(Image, f"{RAW}/anonymized"),
        JPEG: c.subscribe(CompressedImage, "cam_jpeg/image_raw/anonymized/compressed"),
        AUTO: c.subscribe(Image, f"{AUTO}/anonymized"),
        "instances": c.subscribe(InstanceArray, f"{RAW}/anonymized/instances"),
        "info": c.subscribe(CameraInfo, "cam_raw/image_raw/camera_info"),
    }
    for topic in (RAW, JPEG):
        c.wait_matched(pubs[topic])
    time.sleep(1.0)  # let discovery finish on the node's side too
    return pubs, subs


def _exchange(client, pub, received, msgs, timeout=30.0):
    """Publish `msgs` one by one, each until its answer (same stamp) is back; answers by stamp.
    A repeat only covers a message lost while discovery was still matching the two ends."""
    for msg in msgs:
        deadline = time.monotonic() + timeout
        while not any(stamp_ns(m) == stamp_ns(msg) for m in received.messages()):
            assert time.monotonic() < deadline, f"no answer on {pub.topic_name} within {timeout} s"
            pub.publish(msg)
            try:
                client.wait(lambda msg=msg: any(stamp_ns(m) == stamp_ns(msg) for m in received.messages()), 5)
            except TimeoutError:
                continue
    return {stamp_ns(m): m for m in received.messages()}


def test_raw_frames_come_back_with_the_same_header_and_only_instances_replaced(ros_client, io, frames):
    pubs, subs = io
    msgs = [image_msg(f, "bgr8", stamp_ns=1_000_000_000 + i, frame_id="cam_raw_optical") for i, f in enumerate(frames)]
    out = _exchange(ros_client, pubs[RAW], subs[RAW], msgs)
    ros_client.wait(lambda: len(subs["instances"]) >= len(msgs), 10, "instance messages")
    instances = {stamp_ns(m): m for m in subs["instances"].messages()}
    replaced_total = 0
    for msg, frame in zip(msgs, frames, strict=True):
        got = out[stamp_ns(msg)]
        assert (got.header.frame_id, got.encoding, got.height, got.width, got.step) == (
            "cam_raw_optical",
            "bgr8",
            msg.height,
            msg.width,
            msg.step,
        )
        result = np.frombuffer(got.data, np.uint8).reshape(frame.shape)
        inst = instances[stamp_ns(msg)]
        assert inst.header.frame_id == "cam_raw_optical" and inst.method == "inspire"
        inside = np.zeros(frame.shape[:2], bool)
        for i in inst.instances:
            assert i.category in ("person", "car") and 0 < i.mask_area <= (i.x1 - i.x0) * (i.y1 - i.y0)
            box_changed = (result[i.y0 : i.y1, i.x0 : i.x1] != frame[i.y0 : i.y1, i.x0 : i.x1]).any(axis=2)
            assert box_changed.sum() >= 0.5 * i.mask_area, f"instance {i} not replaced"
            inside[i.y0 : i.y1, i.x0 : i.x1] = True
        assert np.array_equal(result[~inside], frame[~inside]), "pixels outside the instances changed"
        replaced_total += len(inst.instances)
    assert replaced_total >= 2 * len(frames)  # PETS09 has pedestrians in every one of these frames


@pytest.mark.parametrize("encoding", ["rgb8", "mono8", "bgra8", "yuv422", "bayer_rggb8"])
def test_other_encodings_come_back_in_their_encoding(ros_client, io, frames, encoding):
    pubs, subs = io
    subs[RAW].clear()
    msg = image_msg(frames[1], encoding, stamp_ns=2_000_000_000, frame_id=f"enc_{encoding}")
    got = _exchange(ros_client, pubs[RAW], subs[RAW], [msg])[stamp_ns(msg)]
    assert (got.header.frame_id, got.encoding, got.height, got.width, got.step) == (
        msg.header.frame_id,
        encoding,
        msg.height,
        msg.width,
        msg.step,
    )
    changed = encodings.changed_pixels(raw_image(msg), raw_image(got))
    assert 500 < changed.sum() < 0.5 * changed.size  # people replaced, background kept


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_compressed_frames_come_back_in_their_format(ros_client, io, frames, fmt):
    pubs, subs = io
    subs[JPEG].clear()
    msg = compressed_msg(frames[2], fmt, stamp_ns=3_000_000_000, frame_id="cam_jpeg")
    got = _exchange(ros_client, pubs[JPEG], subs[JPEG], [msg])[stamp_ns(msg)]
    assert (got.header.frame_id, got.format) == ("cam_jpeg", fmt)
    assert encodings.compressed_codec(got.format, bytes(got.data)) == fmt
    decoded = encodings.decode_compressed(got.format, bytes(got.data))
    assert decoded.shape == frames[2].shape
    if fmt == "png":  # lossless: exactly the replaced pixels differ
        changed = encodings.compressed_changed_pixels(fmt, bytes(msg.data), bytes(got.data))
    else:  # re-encoding requantizes everything a little; replaced pixels differ a lot
        sent = encodings.decode_compressed(fmt, bytes(msg.data))
        changed = np.abs(decoded.astype(int) - sent.astype(int)).max(axis=2) > 60
    assert 500 < changed.sum() < 0.2 * changed.size


def test_auto_input_type_is_read_from_the_graph(ros_client, io, frames):
    pubs, subs = io
    ros_client.wait_matched(pubs[AUTO])  # the node subscribes once it saw the topic's type
    msg = image_msg(frames[3], "rgb8", stamp_ns=4_000_000_000, frame_id="cam_auto")
    got = _exchange(ros_client, pubs[AUTO], subs[AUTO], [msg])[stamp_ns(msg)]
    assert (got.encoding, got.header.frame_id) == ("rgb8", "cam_auto")


def test_camera_info_goes_out_with_each_anonymized_image(ros_client, io, frames):
    pubs, subs = io
    pub = ros_client.publisher(CameraInfo, "cam_raw/camera_info", reliable=True)
    ros_client.wait_matched(pub)
    info = CameraInfo(width=768, height=576, distortion_model="plumb_bob")
    info.header.frame_id = "camera_info_frame"
    for _ in range(3):
        pub.publish(info)
        time.sleep(0.2)
    assert len(subs["info"]) == 0  # not forwarded on its own: it goes out with the images
    subs[RAW].clear()
    msg = image_msg(frames[5], "bgr8", stamp_ns=4_500_000_000, frame_id="cam_raw_optical")
    pub.publish(info)
    _exchange(ros_client, pubs[RAW], subs[RAW], [msg])
    ros_client.wait(lambda: len(subs["info"]) > 0, 10, "camera_info")
    got = subs["info"].messages()[-1]
    assert (got.width, got.height, got.distortion_model, got.header.frame_id, stamp_ns(got)) == (
        768,
        576,
        "plumb_bob",
        "cam_raw_optical",  # the image's header, as image_transport's CameraPublisher does
        4_500_000_000,
    )


def test_rate_is_sustained_and_diagnostics_account_for_every_frame(ros_client, io, frames):
    pubs, subs = io
    diag = ros_client.diagnostics()
    subs[RAW].clear()
    sent = 25
    for i in range(sent):  # 4 Hz, below what the chain does on this machine
        pubs[RAW].publish(image_msg(frames[i % len(frames)], "bgr8", stamp_ns=5_000_000_000 + i))
        time.sleep(0.25)
    ros_client.wait(lambda: len(subs[RAW]) >= sent, 10, "all frames")
    time.sleep(1.5)
    values = status_values(diag.messages()[-1], RAW)
    assert values is not None and values["type"] == "raw"
    received, published, stale = int(values["received"]), int(values["published"]), int(values["stale_dropped"])
    assert received == published + stale + int(values["dropped_on_error"])
    assert stale == 0 and int(values["failed"]) == 0
    assert float(values["latency_ms_max"]) > 0
    node_status = status_values(diag.messages()[-1], ": anonymizer")
    assert node_status["method"] == "inspire" and node_status["provider"] == "CPUExecutionProvider"
    # The node's own default is the live preset: a tracker per camera, its receipt in diagnostics.
    assert node_status["preset"] == "live" and node_status["tracking"] == "on"
    assert node_status["protection_reduced"] == ""
    assert int(values["tracks"]) > 0 and int(values["tracker_resets"]) >= 0


def test_parameters_change_live_and_bad_values_are_rejected(ros_client, io, frames):
    pubs, subs = io
    frame = frames[4]

    def roundtrip(stamp):
        subs[RAW].clear()
        msg = image_msg(frame, "bgr8", stamp_ns=stamp)
        got = _exchange(ros_client, pubs[RAW], subs[RAW], [msg])[stamp]
        return np.frombuffer(got.data, np.uint8).reshape(frame.shape)

    # A threshold that would let most people through needs the config's explicit opt-out.
    ok, reason = ros_client.set_parameters(NODE, {"detector.score_threshold": 0.999})[0]
    assert not ok and "allow_reduced_protection" in reason
    assert ros_client.set_parameters(NODE, {"detector.score_threshold": 0.35, "method": "fill"}) == [(True, "")] * 2
    filled = roundtrip(6_000_000_002)
    assert (filled == 127).all(axis=2).sum() > 1000  # boxes filled with the config's grey
    assert ros_client.set_parameters(NODE, {"method": "inspire"}) == [(True, "")]

    ok, reason = ros_client.set_parameters(NODE, {"method": "smear"})[0]
    assert not ok and "smear" in reason and "inspire" in reason
    ok, reason = ros_client.set_parameters(NODE, {"extractor.edges.kernel_size": 4})[0]
    assert not ok and reason
    ok, reason = ros_client.set_parameters(NODE, {"detector.score_threshold": 1.5})[0]
    assert not ok and reason
    ok, reason = ros_client.set_parameters(NODE, {"config_file": "/tmp/other.yaml"})[0]
    assert not ok and "read-only" in reason.lower()
    ok, reason = ros_client.set_parameters(NODE, {"extractor.edges.low": 400})[0]  # above edges.high
    assert not ok and "extractor.edges.low" in reason


def test_deactivated_node_publishes_nothing_until_activated(ros_client, io, frames):
    pubs, subs = io
    assert ros_client.transition(NODE, "deactivate") and ros_client.state(NODE) == "inactive"
    subs[RAW].clear()
    for i in range(3):
        pubs[RAW].publish(image_msg(frames[0], "bgr8", stamp_ns=7_000_000_000 + i))
        time.sleep(0.2)
    time.sleep(1.0)
    assert len(subs[RAW]) == 0
    assert ros_client.transition(NODE, "activate") and ros_client.state(NODE) == "active"
    ros_client.wait_matched(pubs[RAW])
    msg = image_msg(frames[0], "bgr8", stamp_ns=7_100_000_000)
    assert stamp_ns(msg) in _exchange(ros_client, pubs[RAW], subs[RAW], [msg])


def test_the_camera_tracker_resets_when_time_jumps(ros_client, io, frames):
    """A stamp going backwards (a bag replayed again) or a long gap starts the camera's tracker
    over: old tracks say nothing about the new frames. Counted in the camera's diagnostics."""
    pubs, subs = io
    diag = ros_client.diagnostics()

    def resets() -> int:
        before = len(diag)
        ros_client.wait(lambda: len(diag) > before + 1, 10, "fresh diagnostics")  # after the last frame
        return int(status_values(diag.messages()[-1], RAW)["tracker_resets"])

    base = 50_000_000_000
    _exchange(ros_client, pubs[RAW], subs[RAW], [image_msg(frames[0], "bgr8", stamp_ns=base)])
    start = resets()
    jumps = [base - 1_000_000_000, base + 60_000_000_000]  # backwards, then a minute later
    for stamp in jumps:
        _exchange(ros_client, pubs[RAW], subs[RAW], [image_msg(frames[1], "bgr8", stamp_ns=stamp)])
    assert resets() - start == len(jumps)
