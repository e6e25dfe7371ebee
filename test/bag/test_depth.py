"""Depth topics in camera bags built from real frames: never anonymized as pictures (no synthetic
depth), but copied, dropped or invalidated where the paired colour frame had people/cars, as the
`depth` config key says, and said so in the report."""

import dataclasses

import numpy as np
import pytest

from inspire_ros.bag.depth import camera_namespace, same_camera
from inspire_ros.bag.sanitize import sanitize
from inspire_ros.bag.verify import verify
from inspire_ros.bench.camera_bags import (
    COMPRESSED_DEPTH_TOPIC,
    DEPTH_TOPIC,
    IMAGE_TOPIC,
    IMU_TOPIC,
    BagSpec,
)
from inspire_ros.io import encodings
from inspire_ros.io.image_msgs import raw_image
from inspire_ros.pipeline import Anonymizer

from support.bags import QUIET, by_topic, image_messages


def anonymizer(default_cfg, **depth) -> Anonymizer:
    return Anonymizer(default_cfg.replace(seed=0, **depth))


def depth_values(msg) -> np.ndarray:
    dtype, _ = encodings.depth_dtype(msg.encoding, bool(msg.is_bigendian))
    return (
        np.frombuffer(bytes(msg.data), np.uint8)
        .reshape(msg.height, msg.step)[:, : msg.width * dtype.itemsize]
        .view(dtype)
    )


SPEC = BagSpec(depth_encoding="16UC1", compressed_depth=True)


def test_depth_is_dropped_by_default(make_bag, tmp_path, default_cfg):
    src = make_bag(SPEC)
    an = anonymizer(default_cfg)
    assert an.cfg.depth == "drop"
    report = sanitize(src, tmp_path / "out", an, QUIET)
    for topic in (DEPTH_TOPIC, COMPRESSED_DEPTH_TOPIC):
        stats = report.topics[topic].to_dict()
        assert stats["role"] == "depth" and stats["depth_policy"] == "drop" and not stats["anonymized"]
        assert (stats["messages_in"], stats["messages_out"]) == (3, 0)
    assert report.topics[IMAGE_TOPIC].frames_changed >= 2
    out = by_topic(tmp_path / "out")
    assert DEPTH_TOPIC not in out and COMPRESSED_DEPTH_TOPIC not in out and len(out[IMU_TOPIC]) == 30
    assert any("depth" in n and "left out" in n for n in report.notes)
    assert any(DEPTH_TOPIC in line and "policy drop" in line for line in report.summary_lines())
    result = verify(src, tmp_path / "out", report.to_dict())
    assert result.ok, result.lines()
    assert verify(src, tmp_path / "out").ok  # the marker says the topic was dropped by policy


def test_depth_copy_is_kept_and_said_not_anonymized(make_bag, tmp_path, default_cfg):
    src = make_bag(dataclasses.replace(SPEC, depth_encoding="32FC1"))
    report = sanitize(src, tmp_path / "out", anonymizer(default_cfg, depth="copy"), QUIET)
    a, b = by_topic(src), by_topic(tmp_path / "out")
    for topic in (DEPTH_TOPIC, COMPRESSED_DEPTH_TOPIC):
        assert a[topic] == b[topic]  # as recorded, byte for byte
        stats = report.topics[topic].to_dict()
        assert stats["role"] == "depth" and stats["depth_policy"] == "copy" and "NOT anonymized" in stats["policy"]
        assert stats["frames_unchanged"] == 3 and stats["frames_dropped"] == 0
    assert any(DEPTH_TOPIC in line and "NOT anonymized" in line for line in report.summary_lines())
    assert report.frames_failed == 0
    result = verify(src, tmp_path / "out", report.to_dict())
    assert result.ok, result.lines()


@pytest.mark.parametrize("encoding", ["16UC1", "32FC1"])
def test_depth_invalidated_where_the_colour_frame_was_replaced(encoding, make_bag, tmp_path, default_cfg):
    src = make_bag(dataclasses.replace(SPEC, depth_encoding=encoding, depth_frame_id="depth_optical_frame"))
    report = sanitize(src, tmp_path / "out", anonymizer(default_cfg, depth="invalidate"), QUIET)
    colour = {r.index: r for r in report.frames if r.topic == IMAGE_TOPIC}
    depth = {r.index: r for r in report.frames if r.topic == DEPTH_TOPIC}
    stats = report.topics[DEPTH_TOPIC]
    assert stats.role == "depth" and stats.depth_policy == "invalidate"
    assert stats.frames_changed >= 2 and stats.frames_invalidated == 0 and stats.frames_dropped == 0
    ins, outs = image_messages(src, DEPTH_TOPIC), image_messages(tmp_path / "out", DEPTH_TOPIC)
    invalid_total = 0
    for i, (m_in, m_out) in enumerate(zip(ins, outs, strict=True)):
        assert (m_out.header, m_out.encoding, m_out.step, m_out.height) == (
            m_in.header,
            encoding,
            m_in.step,
            m_in.height,
        )
        v_in, v_out = depth_values(m_in), depth_values(m_out)
        changed = encodings.depth_changed_pixels(raw_image(m_in), raw_image(m_out))
        # Never a made-up value: a changed pixel is invalid (0 / NaN), an unchanged one as recorded.
        assert (np.isnan(v_out[changed]) if encoding == "32FC1" else v_out[changed] == 0).all()
        assert np.array_equal(v_in[~changed], v_out[~changed], equal_nan=True)
        # Inside the colour frame's replaced boxes (half size here), grown.
        if i in colour and colour[i].instances:
            covered = np.zeros_like(changed)
            for inst in colour[i].instances:
                x0, y0, x1, y1 = (v // 2 for v in inst["box"])
                covered[y0:y1, x0:x1] = True
            was_valid = ~np.isnan(v_in) if encoding == "32FC1" else v_in != 0
            assert changed[covered & was_valid].all()  # where people stood: no depth left
            assert i in depth and all(
                inst["source"].startswith(f"paired {IMAGE_TOPIC}#{i}") for inst in depth[i].instances
            )
        invalid_total += int(changed.sum())
    assert invalid_total > 1000
    # compressedDepth: invalidated in its PNG (0), header kept.
    cin, cout = image_messages(src, COMPRESSED_DEPTH_TOPIC), image_messages(tmp_path / "out", COMPRESSED_DEPTH_TOPIC)
    for m_in, m_out in zip(cin, cout, strict=True):
        assert m_out.format == m_in.format and bytes(m_out.data[:12]) == bytes(m_in.data[:12])
        a = encodings.compressed_depth_pixels(m_in.format, m_in.data)
        b = encodings.compressed_depth_pixels(m_out.format, m_out.data)
        assert ((a == b) | (b == 0)).all()
    assert report.topics[COMPRESSED_DEPTH_TOPIC].frames_changed >= 2
    result = verify(src, tmp_path / "out", report.to_dict())
    assert result.ok, result.lines()


def test_depth_without_a_colour_pair_is_invalidated_whole(make_bag, tmp_path, default_cfg):
    # Depth stamped 30 ms off the colour frames, tolerance 10 ms: no pair, fail closed.
    src = make_bag(dataclasses.replace(SPEC, depth_encoding="32FC1", depth_stamp_offset=30_000_000))
    an = anonymizer(default_cfg, depth="invalidate", depth_pair_ms=10.0)
    report = sanitize(src, tmp_path / "out", an, QUIET)
    for topic in (DEPTH_TOPIC, COMPRESSED_DEPTH_TOPIC):
        assert report.topics[topic].frames_invalidated == 3
    for m in image_messages(tmp_path / "out", DEPTH_TOPIC):
        assert np.isnan(depth_values(m)).all()
    for m in image_messages(tmp_path / "out", COMPRESSED_DEPTH_TOPIC):
        assert not encodings.compressed_depth_pixels(m.format, m.data).any()
    assert any("no colour frame" in r.error for r in report.frames if r.topic == DEPTH_TOPIC)
    result = verify(src, tmp_path / "out", report.to_dict())
    assert result.ok, result.lines()


def test_camera_namespace_pairs_depth_with_its_colour_topic():
    assert camera_namespace("/cam/depth/image_raw") == "/cam"
    assert camera_namespace("/cam/depth/image_raw/compressedDepth") == "/cam"
    assert same_camera("/cam/depth/image_raw", "/cam/color/image_raw")
    assert same_camera("/camera/aligned_depth_to_color/image_raw", "/camera/color/image_raw/compressed")
    assert not same_camera("/cam/depth/image_raw", "/other/color/image_raw")
    assert not same_camera("/depth/image_raw", "/image_raw")  # no namespace: only frame_id pairs
