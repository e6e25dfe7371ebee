"""What the tests import (`from support import ...`): paths into the shared folder, real
frames, stand-ins for image messages. Fixtures live in conftest.py, which tests never import:
under --import-mode=importlib pytest imports it as `test.conftest`, so `from support import`
would run it a second time as another module.

Computing a path here reads nothing: a test that reads the shared folder asks for the
`shared` fixture (conftest.py), which fails with one clear message where the folder is missing
(require_shared; the readers here call it too).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspire_ros import boxes
from inspire_ros.paths import pets09_video, shared_dir

TEST_DIR = Path(__file__).resolve().parents[1]

SHARED = shared_dir()
VTEST = pets09_video(SHARED)
BUS = SHARED / "data" / "street" / "bus.jpg"
CAMVID = SHARED / "data" / "camvid"


def require_shared() -> Path:
    """The shared folder; fails the test (not skips it) with one clear message where it is missing."""
    if not (SHARED / "README.md").is_file():
        pytest.fail(f"shared data not found at {SHARED}: set INSPIRE_SHARED to the shared folder", pytrace=False)
    return SHARED


@dataclass(frozen=True)
class ImageMsg:
    """The fields of sensor_msgs/Image (rosbags and rclpy messages carry the same): a message
    for the ROS-free image step without a typestore."""

    header: str
    height: int
    width: int
    encoding: str
    is_bigendian: bool
    step: int
    data: bytes


@dataclass(frozen=True)
class CompressedImageMsg:
    """The fields of sensor_msgs/CompressedImage."""

    header: str
    format: str
    data: bytes


def read_video_frames(indices: list[int], path: Path = VTEST) -> list[np.ndarray]:
    if SHARED in path.parents:
        require_shared()
    cap = cv2.VideoCapture(str(path))
    out, i, wanted = [], 0, sorted(indices)
    while wanted:
        ok, frame = cap.read()
        assert ok, f"{path} ended before frame {wanted[0]}"
        if i == wanted[0]:
            out.append(frame)
            wanted.pop(0)
        i += 1
    cap.release()
    return out


def union_mask(frame: np.ndarray, instances) -> np.ndarray:
    """HxW bool: every pixel some instance's mask says was replaced."""
    return boxes.union_mask(frame.shape, instances)


CAMVID_SUBSET = ["0016E5_08053", "0016E5_08055"]  # frames of make_camvid_subset


def make_camvid_subset(root):
    require_shared()
    for sub in ("images", "labels"):
        (root / "val" / sub).mkdir(parents=True)
    for name in CAMVID_SUBSET:
        (root / "val" / "images" / f"{name}.jpg").write_bytes((CAMVID / "val" / "images" / f"{name}.jpg").read_bytes())
        (root / "val" / "labels" / f"{name}.png").write_bytes((CAMVID / "val" / "labels" / f"{name}.png").read_bytes())
    return root
