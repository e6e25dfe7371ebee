"""`inspire bag sanitize|verify` from the command line: exit codes, summary, report."""

import json
from pathlib import Path

import pytest

from inspire_ros.bench.camera_bags import COMPRESSED_TOPIC, IMAGE_TOPIC, BagSpec, write_camera_bag
from inspire_ros.cli.main import main

from support import read_video_frames

pytestmark = pytest.mark.usefixtures("shared")  # real data or the default detector from the shared folder


def camera_bag(folder: Path, spec: BagSpec) -> Path:
    name = "camera.bag" if spec.kind == "rosbag1" else "camera"
    return write_camera_bag(folder / name, read_video_frames([150, 400]), spec)


def test_sanitize_report_and_verify(tmp_path, capsys):
    src = camera_bag(tmp_path, BagSpec(storage="mcap", compressed_format="rgb8; jpeg compressed bgr8"))
    out, report_path = tmp_path / "clean", tmp_path / "report.json"
    args = ["bag", "sanitize", str(src), str(out), "--report", str(report_path), "--seed", "3", "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert f"inspire: wrote {out}" in printed and "frames/s" in printed
    assert f"{IMAGE_TOPIC} [Image bgr8]: 2 in, 2 out" in printed and "person" in printed
    report = json.loads(report_path.read_text())
    assert report["seed"] == 3 and report["summary"]["frames"] == 4 and report["summary"]["frames_failed"] == 0
    assert report["summary"]["instances"]["person"] >= 4 and report["summary"]["frames_per_second"] > 0
    topics = {t["topic"]: t for t in report["topics"]}
    assert topics[COMPRESSED_TOPIC]["encodings"] == {"rgb8; jpeg compressed bgr8": 2}
    assert topics["/imu/data"] == {
        "topic": "/imu/data", "type": "sensor_msgs/msg/Imu", "role": "copy", "messages_in": 20, "messages_out": 20,
    }  # fmt: skip
    assert all(f["status"] == "anonymized" and f["instances"] for f in report["frames"])

    assert main(["bag", "verify", str(src), str(out), "--report", str(report_path)]) == 0
    printed = capsys.readouterr().out
    assert "verify PASSED" in printed and "FAIL" not in printed
    # A bag is a faithful copy of itself, but not a sanitized one: it carries no sanitize marker.
    assert main(["bag", "verify", str(src), str(src)]) == 1
    assert "FAIL sanitized: output has no marker" in capsys.readouterr().out
    other = write_camera_bag(tmp_path / "other", read_video_frames([10, 20]), BagSpec(storage="mcap"))
    assert main(["bag", "verify", str(src), str(other)]) == 1
    assert "verify FAILED" in capsys.readouterr().out


def test_existing_output_and_report_need_force(tmp_path, capsys):
    src = camera_bag(tmp_path, BagSpec(kind="rosbag1"))
    out = tmp_path / "out.bag"
    out.write_bytes(b"keep me")
    assert main(["bag", "sanitize", str(src), str(out), "--quiet"]) == 2
    assert "--force" in capsys.readouterr().err and out.read_bytes() == b"keep me"
    assert main(["bag", "sanitize", str(src), str(out), "--quiet", "--force"]) == 0
    assert out.read_bytes().startswith(b"#ROSBAG V2.0\n")
    report = tmp_path / "r.json"
    report.write_text("{}")
    assert main(["bag", "sanitize", str(src), str(tmp_path / "o2.bag"), "--report", str(report), "--quiet"]) == 2
    assert not (tmp_path / "o2.bag").exists()


def test_failed_frames_exit_3(tmp_path, capsys):
    cfg = tmp_path / "flaky.yaml"
    cfg.write_text("generator:\n  type: plugins:FlakyGenerator\n  params: {fail_every: 1}\n")
    src = camera_bag(tmp_path, BagSpec())
    out = tmp_path / "out"
    assert main(["bag", "sanitize", str(src), str(out), "--config", str(cfg), "--quiet"]) == 3
    captured = capsys.readouterr()
    assert "2 blanked, 0 dropped" in captured.out and "injected generator failure" in captured.out
    assert "could not be anonymized" in captured.err


def test_usage_errors_exit_2(tmp_path, capsys):
    src = camera_bag(tmp_path, BagSpec())
    cases = [
        (["--topics", "/imu/data"], "not an image"),
        (["--storage", "mcap", "--compression", "zstd", "--config", str(tmp_path / "missing.yaml")], "missing.yaml"),
    ]
    for extra, expect in cases:
        assert main(["bag", "sanitize", str(src), str(tmp_path / "out"), "--quiet", *extra]) == 2
        assert expect in capsys.readouterr().err
    garbage = tmp_path / "junk.mcap"
    garbage.write_bytes(b"\x00" * 1000)
    assert main(["bag", "sanitize", str(garbage), str(tmp_path / "out.mcap"), "--quiet"]) == 2
    assert "cannot open" in capsys.readouterr().err
    assert main(["bag", "verify", str(src), str(tmp_path / "nothing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.mcap").exists()
