"""`verify` catches what a broken sanitizer would get wrong, and passes a faithful copy."""

import dataclasses

import numpy as np
import pytest

from inspire_ros.bag.definitions import default_typestore
from inspire_ros.bag.sanitize import SanitizeOptions, sanitize
from inspire_ros.bag.source import BagSource
from inspire_ros.bag.verify import verify
from inspire_ros.bench.camera_bags import IMAGE_TOPIC, IMU_TOPIC, BagSpec, write_camera_bag
from inspire_ros.pipeline import Anonymizer

from support.bags import rewrite


@pytest.fixture(scope="module")
def sanitized(tmp_path_factory, vtest_frames, default_cfg):
    """(input, output, report) for a small mcap camera bag, built once."""
    folder = tmp_path_factory.mktemp("verify")
    src = write_camera_bag(folder / "in", [vtest_frames[1], vtest_frames[2]], BagSpec(storage="mcap", encoding="rgb8"))
    report = sanitize(src, folder / "out", Anonymizer(default_cfg.replace(seed=0)), SanitizeOptions(progress=False))
    return src, folder / "out", report.to_dict()


def failed(result) -> dict[str, str]:
    return {c.name: c.detail for c in result.checks if not c.ok}


def test_faithful_copy_passes(sanitized):
    src, out, report = sanitized
    result = verify(src, out, report)
    assert result.ok, result.lines()
    assert "PASSED" in result.lines()[-1]
    assert verify(src, out).ok  # without the report: structure only


def test_a_changed_non_image_message_fails(sanitized, tmp_path):
    src, out, report = sanitized

    def flip(topic, i, data):
        return data[:-1] + bytes([data[-1] ^ 1]) if topic == IMU_TOPIC and i == 7 else data

    result = verify(src, rewrite(out, tmp_path / "bad", flip), report)
    assert "non-image message bytes differ (1x, first at message 7" in failed(result)["messages"]
    assert "FAILED" in result.lines()[-1]


def test_a_missing_message_or_topic_fails(sanitized, tmp_path):
    src, out, report = sanitized
    result = verify(src, rewrite(out, tmp_path / "a", lambda t, i, d: None if t == IMU_TOPIC and i == 3 else d), report)
    assert "/imu/data: 20 in, 19 out" in failed(result)["counts"]
    result = verify(src, rewrite(out, tmp_path / "b", lambda t, i, d: None if t == IMU_TOPIC else d), report)
    assert "missing in output: /imu/data" in failed(result)["topics"]


def test_changes_outside_the_reported_boxes_fail(sanitized):
    src, out, report = sanitized
    frames = [dict(f, instances=f["instances"][1:]) if f["topic"] == IMAGE_TOPIC else f for f in report["frames"]]
    result = verify(src, out, dict(report, frames=frames))
    assert "pixels changed outside the reported instance boxes" in failed(result)["images"]
    result = verify(src, out, dict(report, frames=[]))
    assert "frame changed but not listed in the report" in failed(result)["images"]


def test_an_original_frame_left_in_place_fails(sanitized, tmp_path):
    src, out, report = sanitized
    with BagSource(src) as source:
        originals = [bytes(d) for c, _, d in source.messages() if c.topic == IMAGE_TOPIC]

    def leak(topic, i, data):
        return originals[i] if topic == IMAGE_TOPIC and i == 1 else data

    result = verify(src, rewrite(out, tmp_path / "leak", leak), report)
    assert "frame reported anonymized is identical to the input" in failed(result)["images"]


def test_a_resized_frame_fails(sanitized, tmp_path):
    src, out, report = sanitized

    def crop(topic, i, data):
        if topic != IMAGE_TOPIC:
            return data
        store = default_typestore(False)
        msg = store.deserialize_cdr(data, "sensor_msgs/msg/Image")
        small = dataclasses.replace(msg, height=msg.height - 2, data=np.asarray(msg.data)[: -2 * msg.step].copy())
        return bytes(store.serialize_cdr(small, "sensor_msgs/msg/Image"))

    result = verify(src, rewrite(out, tmp_path / "crop", crop), report)
    assert "height differs" in failed(result)["images"]
