"""Sanitizing camera bags built from real frames: images anonymized in their own encoding, every
other message untouched, output format kept, failures closed, bad inputs refused cleanly."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml
from rosbags.rosbag2 import Writer
from rosbags.typesys import Stores, get_typestore

from inspire_ros.bag.errors import BagError
from inspire_ros.bag.sanitize import sanitize
from inspire_ros.bag.source import BagSource
from inspire_ros.bag.verify import verify
from inspire_ros.bench.camera_bags import (
    COMPRESSED_TOPIC,
    IMAGE_TOPIC,
    IMU_TOPIC,
    INFO_TOPIC,
    BagSpec,
)
from inspire_ros.io import encodings
from inspire_ros.io.image_msgs import raw_image
from inspire_ros.pipeline import Anonymizer

from support.bags import QUIET, by_topic, image_messages


@pytest.fixture(scope="module")
def anonymizer(shared, default_cfg) -> Anonymizer:
    return Anonymizer(default_cfg.replace(seed=0))


class Broken:
    """A detector that fails on every frame."""

    provider = "none"

    def detect(self, frame):
        raise RuntimeError("detector exploded")


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if "inspire-tmp" in p.name]


FORMS = {
    "sqlite3-bgr8": BagSpec(),
    "mcap-rgb8+jpeg": BagSpec(storage="mcap", encoding="rgb8", compressed_format="rgb8; jpeg compressed bgr8"),
    "sqlite3-zstd-message-mono8": BagSpec(compression="message", encoding="mono8"),
    "mcap-zstd-file-yuv422": BagSpec(storage="mcap", compression="file", encoding="yuv422"),
    "mcap-zstd-chunk-mono16+png": BagSpec(
        storage="mcap", compression="chunk", encoding="mono16", compressed_format="bgr8; png compressed bgr8"
    ),
    "ros1-bayer_rggb8": BagSpec(kind="rosbag1", encoding="bayer_rggb8"),
    "ros1-lz4-bgra8+mono-jpeg": BagSpec(
        kind="rosbag1", compression="lz4", encoding="bgra8", compressed_format="mono8; jpeg compressed mono8"
    ),
}


@pytest.mark.parametrize("form", FORMS)
def test_camera_bag(form, make_bag, tmp_path, anonymizer):
    spec = FORMS[form]
    src = make_bag(spec)
    dst = tmp_path / ("out.bag" if spec.kind == "rosbag1" else "out")
    report = sanitize(src, dst, anonymizer, QUIET)
    assert not leftovers(tmp_path)

    image_topics = [t for t in (IMAGE_TOPIC, COMPRESSED_TOPIC) if t in report.topics]
    for topic in image_topics:
        stats = report.topics[topic]
        assert stats.role == "anonymize" and stats.messages_in == stats.messages_out == 3
        assert stats.frames_changed >= 2 and stats.frames_failed == 0
        assert stats.instances["person"] >= 5
    # Everything else byte-identical, with the same log timestamps.
    a, b = by_topic(src), by_topic(dst)
    assert a[IMU_TOPIC] == b[IMU_TOPIC] and len(a[IMU_TOPIC]) == 30
    assert a[INFO_TOPIC] == b[INFO_TOPIC]
    for topic in image_topics:
        assert [t for t, _ in a[topic]] == [t for t, _ in b[topic]]
        ins, outs = image_messages(src, topic), image_messages(dst, topic)
        for m_in, m_out in zip(ins, outs, strict=True):
            assert m_out.header == m_in.header
            if topic == IMAGE_TOPIC:
                fields = ("height", "width", "encoding", "step", "is_bigendian")
                assert [getattr(m_out, f) for f in fields] == [getattr(m_in, f) for f in fields]
                assert len(m_out.data) == len(m_in.data)
            else:
                assert m_out.format == m_in.format
                assert bytes(m_out.data[:3]) == bytes(m_in.data[:3])  # same codec
        assert any(bytes(x.data) != bytes(y.data) for x, y in zip(ins, outs, strict=True))
    # The input's storage, layout and compression.
    with BagSource(src) as s, BagSource(dst) as d:
        assert d.format == dataclasses.replace(s.format, version=d.format.version)
    result = verify(src, dst, report.to_dict())
    assert result.ok, result.lines()


def test_raw_frames_change_only_inside_instances(make_bag, tmp_path, anonymizer):
    src = make_bag(BagSpec(encoding="rgb8"))
    report = sanitize(src, tmp_path / "out", anonymizer, QUIET)
    records = {r.index: r for r in report.frames if r.topic == IMAGE_TOPIC}
    ins, outs = image_messages(src, IMAGE_TOPIC), image_messages(tmp_path / "out", IMAGE_TOPIC)
    for i, (m_in, m_out) in enumerate(zip(ins, outs, strict=True)):
        changed = encodings.changed_pixels(raw_image(m_in), raw_image(m_out))
        allowed = np.zeros_like(changed)
        for inst in records[i].instances if i in records else []:
            x0, y0, x1, y1 = inst["box"]
            allowed[y0:y1, x0:x1] = True
        assert not (changed & ~allowed).any()
        replaced = sum(inst["mask_area"] for inst in records[i].instances) if i in records else 0
        assert (0 < changed.sum() <= replaced) if replaced else not changed.any()


def test_storage_and_compression_options(make_bag, tmp_path, anonymizer):
    src = make_bag(BagSpec())  # sqlite3, uncompressed
    options = dataclasses.replace(QUIET, storage="mcap", compression="zstd")
    sanitize(src, tmp_path / "out", anonymizer, options)
    info = yaml.safe_load((tmp_path / "out" / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert info["storage_identifier"] == "mcap" and (tmp_path / "out" / "out.mcap").is_file()
    with BagSource(tmp_path / "out") as out:
        assert out.format.compression == "chunk"  # mcap compresses its chunks
    sanitize(src, tmp_path / "out2", anonymizer, dataclasses.replace(QUIET, compression="zstd"))
    info = yaml.safe_load((tmp_path / "out2" / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert (info["compression_mode"], info["compression_format"]) == ("message", "zstd")
    # A bare .mcap file, readable without metadata.yaml.
    sanitize(src, tmp_path / "single.mcap", anonymizer, QUIET)
    assert (tmp_path / "single.mcap").is_file()
    assert by_topic(tmp_path / "single.mcap")[IMU_TOPIC] == by_topic(src)[IMU_TOPIC]
    with pytest.raises(BagError, match="ROS 1 bag is written as a ROS 1 bag"):
        sanitize(make_bag(BagSpec(kind="rosbag1")), tmp_path / "x", anonymizer, QUIET)
    with pytest.raises(BagError, match="cannot say that it is zstd"):
        sanitize(src, tmp_path / "single.db3", anonymizer, dataclasses.replace(QUIET, compression="zstd"))
    assert not leftovers(tmp_path)


def test_existing_output_is_kept_unless_forced(make_bag, tmp_path, anonymizer):
    src = make_bag(BagSpec(storage="mcap"))
    dst = tmp_path / "out"
    dst.mkdir()
    (dst / "metadata.yaml").write_text("an older bag\n")
    with pytest.raises(FileExistsError, match="--force"):
        sanitize(src, dst, anonymizer, QUIET)
    assert (dst / "metadata.yaml").read_text() == "an older bag\n"
    sanitize(src, dst, anonymizer, dataclasses.replace(QUIET, force=True))
    assert (dst / "out.mcap").is_file() and by_topic(dst)[IMU_TOPIC] == by_topic(src)[IMU_TOPIC]
    # --force never deletes a folder that is not a bag, nor the input.
    (tmp_path / "notes").mkdir()
    with pytest.raises(BagError, match="not a rosbag2 bag"):
        sanitize(src, tmp_path / "notes", anonymizer, dataclasses.replace(QUIET, force=True))
    with pytest.raises(BagError, match="inside the input"):
        sanitize(src, src, anonymizer, dataclasses.replace(QUIET, force=True))
    assert not leftovers(tmp_path)


def test_failed_frames_are_blanked_never_copied(make_bag, tmp_path, default_cfg):
    src = make_bag(BagSpec(encoding="yuv422", compressed_format="rgb8; jpeg compressed bgr8"))
    broken = Anonymizer(default_cfg.replace(seed=0), detector=Broken())
    report = sanitize(src, tmp_path / "out", broken, QUIET)
    for topic in (IMAGE_TOPIC, COMPRESSED_TOPIC):
        stats = report.topics[topic]
        assert stats.frames_blanked == 3 and stats.messages_out == 3
        assert "detector exploded" in next(iter(stats.failures))
    for m in image_messages(tmp_path / "out", IMAGE_TOPIC):
        frame = encodings.to_bgr(raw_image(m))
        assert frame.max() == 0
    assert verify(src, tmp_path / "out", report.to_dict()).ok


def test_failed_frames_are_dropped_when_configured(make_bag, tmp_path, default_cfg):
    src = make_bag(BagSpec(kind="rosbag1"))
    broken = Anonymizer(default_cfg.replace(seed=0, on_error="drop"), detector=Broken())
    report = sanitize(src, tmp_path / "out.bag", broken, QUIET)
    stats = report.topics[IMAGE_TOPIC]
    assert (stats.messages_in, stats.messages_out, stats.frames_dropped) == (3, 0, 3)
    out = by_topic(tmp_path / "out.bag")
    assert IMAGE_TOPIC not in out and len(out[IMU_TOPIC]) == 30
    result = verify(src, tmp_path / "out.bag", report.to_dict())
    assert result.ok, result.lines()
    assert not verify(src, tmp_path / "out.bag").ok  # without the report the missing frames are an error


def test_undecodable_frames_are_blanked(make_bag, tmp_path, anonymizer):
    spec = BagSpec(
        storage="mcap",
        compressed_format="rgb8; jpeg compressed bgr8",
        raw_payload={1: b"\x07" * 100},  # shorter than step * height
        compressed_payload={2: b"\xff\xd8\xff" + b"\x00" * 64},  # a JPEG that ends after its marker
    )
    src = make_bag(spec)
    report = sanitize(src, tmp_path / "out", anonymizer, QUIET)
    raw, comp = report.topics[IMAGE_TOPIC], report.topics[COMPRESSED_TOPIC]
    assert raw.frames_blanked == 1 and "needs" in next(iter(raw.failures))
    assert comp.frames_blanked == 1 and "corrupt or truncated" in next(iter(comp.failures))
    outs = image_messages(tmp_path / "out", IMAGE_TOPIC)
    assert bytes(outs[1].data) == bytes(100)  # same length, nothing of the original left
    blank = image_messages(tmp_path / "out", COMPRESSED_TOPIC)[2]
    assert encodings.decode_compressed(blank.format, blank.data).max() <= 8  # black, size of the last frame
    result = verify(src, tmp_path / "out", report.to_dict())
    assert result.ok, result.lines()


def test_topics_option(make_bag, tmp_path, anonymizer):
    src = make_bag(BagSpec(compressed_format="rgb8; jpeg compressed bgr8"))
    options = dataclasses.replace(QUIET, topics=(COMPRESSED_TOPIC,))
    report = sanitize(src, tmp_path / "out", anonymizer, options)
    assert report.topics[COMPRESSED_TOPIC].frames_changed >= 2
    assert report.topics[IMAGE_TOPIC].role == "image-not-selected"
    assert any("NOT anonymized" in n and IMAGE_TOPIC in n for n in report.notes)
    assert by_topic(tmp_path / "out")[IMAGE_TOPIC] == by_topic(src)[IMAGE_TOPIC]
    for topic, match in ((IMU_TOPIC, "not an image"), ("/nope", "no such topic")):
        with pytest.raises(BagError, match=match):
            sanitize(src, tmp_path / "x", anonymizer, dataclasses.replace(QUIET, topics=(topic,)))
    assert not (tmp_path / "x").exists() and not leftovers(tmp_path)


def _bag_with(path: Path, add) -> Path:
    writer = Writer(path, version=9)
    writer.open()
    add(writer)
    writer.close()
    return path


def test_nested_image_types_are_refused(tmp_path, anonymizer):
    store = get_typestore(Stores.ROS2_HUMBLE)

    def add(w):
        w.add_connection("/disparity", "stereo_msgs/msg/DisparityImage", typestore=store)

    src = _bag_with(tmp_path / "in", add)
    with pytest.raises(BagError, match="/disparity .*nests sensor_msgs/msg/Image"):
        sanitize(src, tmp_path / "out", anonymizer, QUIET)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


@pytest.mark.parametrize(
    ("definition", "why"),
    [("int32 x\nfloat64[ y\n", "Could not parse"), ("int32 x\nDetection best\n", "refers to acme_msgs/msg/Detection")],
    ids=["syntax", "undefined-type"],
)
def test_bad_definition_is_refused(definition, why, tmp_path, anonymizer):
    def add(w):
        conn = w.add_connection("/status", "acme_msgs/msg/Status", msgdef=definition, rihs01="RIHS01_" + "0" * 64)
        w.write(conn, 1, b"\x00\x01\x00\x00\x05\x00\x00\x00")

    src = _bag_with(tmp_path / "in", add)
    with pytest.raises(BagError, match=f"cannot read the message definition of topic /status .*{why}"):
        sanitize(src, tmp_path / "out", anonymizer, QUIET)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "cut":
        del data[len(data) // 2 :]
    else:  # garbage over the start of the file
        data[:64] = np.random.default_rng(0).integers(0, 256, 64, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("spec", "how", "match"),
    [
        (BagSpec(), "cut", "database disk image is malformed"),
        (BagSpec(storage="mcap"), "cut", "File end magic is invalid"),
        (BagSpec(storage="mcap", compression="file"), "garbage", "Zstandard"),
        (BagSpec(kind="rosbag1"), "cut", "index looks damaged"),
        (BagSpec(kind="rosbag1"), "garbage", "not a ROS 1 bag"),
    ],
    ids=["sqlite3-cut", "mcap-cut", "mcap-zstd-garbage", "ros1-cut", "ros1-garbage"],
)
def test_damaged_input_gives_a_clear_error(spec, how, match, make_bag, tmp_path, anonymizer):
    src = make_bag(spec)
    storage_file = src if src.is_file() else next(p for p in src.iterdir() if p.name != "metadata.yaml")
    _damage(storage_file, how)
    dst = tmp_path / ("out.bag" if spec.kind == "rosbag1" else "out")
    with pytest.raises(BagError, match=match) as err:
        sanitize(src, dst, anonymizer, QUIET)
    assert str(src) in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_garbage_inside_a_message_is_caught_on_read(make_bag, tmp_path, anonymizer):
    # zstd chunks carry checksums: garbage in the middle of a compressed mcap surfaces mid-run,
    # after the output was started; the partial output must vanish.
    src = make_bag(BagSpec(storage="mcap", compression="chunk"))
    storage_file = next(src.glob("*.mcap"))
    data = bytearray(storage_file.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 4096] = bytes(4096)
    storage_file.write_bytes(bytes(data))
    with pytest.raises(BagError, match="cannot read .*truncated or corrupt"):
        sanitize(src, tmp_path / "out", anonymizer, QUIET)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_scene_methods_sanitize_bags_the_same_way(make_bag, tmp_path, default_cfg):
    # SVIA takes the same path through the bag tool: method is one config key.
    hybrid = Anonymizer(default_cfg.replace(seed=0, method="hybrid"))
    src = make_bag(BagSpec(encoding="rgb8"))
    report = sanitize(src, tmp_path / "out", hybrid, QUIET)
    records = {r.index: r for r in report.frames if r.topic == IMAGE_TOPIC}
    ins, outs = image_messages(src, IMAGE_TOPIC), image_messages(tmp_path / "out", IMAGE_TOPIC)
    scene = set()
    for i, (m_in, m_out) in enumerate(zip(ins, outs, strict=True)):
        changed = encodings.changed_pixels(raw_image(m_in), raw_image(m_out))
        allowed = np.zeros_like(changed)
        for inst in records[i].instances:
            x0, y0, x1, y1 = inst["box"]
            allowed[y0:y1, x0:x1] = True
            if inst.get("source") == "segmented":
                scene.add(inst["category"])
        assert changed.any() and not (changed & ~allowed).any()
    assert {"road", "building"} <= scene
    assert verify(src, tmp_path / "out").ok
