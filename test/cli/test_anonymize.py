"""`inspire anonymize` on real media: outputs, audit, and bad inputs that write nothing."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspire_ros import model_store
from inspire_ros.cli.main import main

from support import BUS, CAMVID, VTEST

pytestmark = pytest.mark.usefixtures("shared")  # real data or the default detector from the shared folder


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if "inspire-tmp" in p.name]


def test_image_with_audit(tmp_path, capsys):
    out, audit = tmp_path / "bus.png", tmp_path / "audit.json"
    assert main(["anonymize", str(BUS), str(out), "--seed", "1", "--audit", str(audit)]) == 0
    result, original = cv2.imread(str(out)), cv2.imread(str(BUS))
    assert result.shape == original.shape and not np.array_equal(result, original)
    report = json.loads(audit.read_text())
    (frame,) = report["frames"]
    assert frame["status"] == "ok" and len(frame["instances"]) >= 3
    inst = frame["instances"][0]
    assert set(inst) == {"category", "box", "score", "mask_area"} and len(inst["box"]) == 4
    assert report["summary"]["instances"]["person"] >= 3 and report["method"] == "inspire"
    assert "wrote" in capsys.readouterr().out
    assert not leftovers(tmp_path)


def test_existing_output_needs_force(tmp_path, capsys):
    out = tmp_path / "bus.jpg"
    out.write_bytes(b"keep me")
    assert main(["anonymize", str(BUS), str(out)]) == 2
    assert "--force" in capsys.readouterr().err and out.read_bytes() == b"keep me"
    assert main(["anonymize", str(BUS), str(out), "--force", "--method", "fill"]) == 0
    assert cv2.imread(str(out)) is not None


def test_folder_of_images(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    names = sorted(p.name for p in (CAMVID / "test" / "images").glob("*.jpg"))[:3]
    for n in names:
        shutil.copy(CAMVID / "test" / "images" / n, src / n)
    audit = tmp_path / "a.json"
    assert main(["anonymize", str(src), str(tmp_path / "out"), "--audit", str(audit), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == names
    assert [f["name"] for f in json.loads(audit.read_text())["frames"]] == names


@pytest.mark.parametrize("ext", [".mp4", ".avi"])
def test_video_keeps_size_fps_and_frame_count(tmp_path, ext):
    out, audit = tmp_path / f"v{ext}", tmp_path / "a.json"
    args = ["anonymize", str(VTEST), str(out), "--max-frames", "12", "--audit", str(audit), "--quiet", "--seed", "2"]
    assert main(args) == 0
    cap = cv2.VideoCapture(str(out))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    assert len(frames) == 12 and frames[0].shape == (576, 768, 3)
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(10.0)
    report = json.loads(audit.read_text())
    assert report["video"] == {"fps": 10.0, "width": 768, "height": 576}
    assert len(report["frames"]) == 12 and all(f["instances"] for f in report["frames"])


def test_failed_frames_are_blanked_and_reported(tmp_path, default_cfg):
    cfg = tmp_path / "flaky.yaml"
    cfg.write_text("generator:\n  type: plugins:FlakyGenerator\n  params: {fail_every: 2}\n")
    out, audit = tmp_path / "v.avi", tmp_path / "a.json"
    args = ["anonymize", str(VTEST), str(out), "--config", str(cfg), "--max-frames", "6", "--audit", str(audit)]
    assert main([*args, "--quiet"]) == 3
    report = json.loads(audit.read_text())
    statuses = [f["status"] for f in report["frames"]]
    assert statuses.count("blanked") >= 2 and report["summary"]["frames_failed"] == statuses.count("blanked")
    cap = cv2.VideoCapture(str(out))
    for status in statuses:
        ok, frame = cap.read()
        assert ok
        if status == "blanked":  # MJPEG: black stays (near) black; never the original frame
            assert frame.max() < 10


def write_garbage(path: Path) -> Path:
    path.write_bytes(os.urandom(4096))
    return path


@pytest.mark.parametrize(
    "make_input, expect",
    [
        (lambda d: write_garbage(d / "photo.jpg"), "not a readable image"),
        (lambda d: write_garbage(d / "clip.mp4"), "cannot decode video"),
        (lambda d: write_garbage(d / "clip.xyz"), "unsupported input"),
        (lambda d: d / "missing.jpg", "does not exist"),
    ],
)
def test_bad_inputs_write_nothing(tmp_path, capsys, make_input, expect):
    src = make_input(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / ("o.mp4" if src.suffix == ".mp4" else "o.png")
    assert main(["anonymize", str(src), str(out), "--audit", str(out_dir / "a.json")]) == 2
    assert expect in capsys.readouterr().err
    assert list(out_dir.iterdir()) == []


def test_bad_models_and_config_write_nothing(tmp_path, capsys):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    tampered = tmp_path / "yolox_nano.onnx"
    data = bytearray(model_store.resolve("yolox_nano.onnx").read_bytes())
    data[1000] ^= 1
    tampered.write_bytes(bytes(data))
    cases = {
        "missing.yaml": ("detector:\n  model: no_such_model.onnx\n", "no_such_model.onnx' not found"),
        "tampered.yaml": (f"detector:\n  model: {tampered}\n", "has sha256"),
        "unknown.yaml": ("detector:\n  modle: x\n", "'detector.modle'"),
    }
    for name, (text, expect) in cases.items():
        (tmp_path / name).write_text(text)
        code = main(["anonymize", str(BUS), str(out_dir / "o.png"), "--config", str(tmp_path / name)])
        assert code == 2 and expect in capsys.readouterr().err
        assert list(out_dir.iterdir()) == []


def test_entry_point_and_sigterm_leave_no_output(tmp_path):
    """The installed `inspire` command; SIGTERM mid-video leaves nothing that looks finished."""
    exe = Path(sys.executable).parent / "inspire"
    out = tmp_path / "full.mp4"
    proc = subprocess.Popen([str(exe), "anonymize", str(VTEST), str(out), "--quiet"], stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not leftovers(tmp_path) and time.time() < deadline:  # wait until it is writing
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) != 0
    assert not out.exists() and not leftovers(tmp_path)
