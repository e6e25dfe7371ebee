"""Shared fixtures: real frames and models from the shared folder (../shared by default)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspire_ros import boxes
from inspire_ros import config as config_mod
from inspire_ros.paths import default_config_path, pets09_video, shared_dir

TEST_DIR = Path(__file__).resolve().parent
if str(TEST_DIR) not in sys.path:  # test plug-ins (test/plugins.py) import as `plugins`
    sys.path.insert(0, str(TEST_DIR))

SHARED = shared_dir()
if not (SHARED / "README.md").is_file():
    raise pytest.UsageError(f"shared data not found at {SHARED}: set INSPIRE_SHARED to the shared folder")

VTEST = pets09_video(SHARED)
BUS = SHARED / "data" / "street" / "bus.jpg"
CAMVID = SHARED / "data" / "camvid"


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


@pytest.fixture(scope="session")
def default_cfg() -> config_mod.Config:
    return config_mod.load(default_config_path())


@pytest.fixture(scope="session")
def bus() -> np.ndarray:
    return cv2.imread(str(BUS))


@pytest.fixture(scope="session")
def vtest_frames() -> list[np.ndarray]:
    return read_video_frames([0, 150, 400])


@pytest.fixture(scope="session")
def camvid_frames() -> list[np.ndarray]:
    names = ["val/images/0016E5_08053.jpg", "test/images/0001TP_009240.jpg", "train/images/0006R0_f02220.jpg"]
    return [cv2.imread(str(CAMVID / n)) for n in names]


@pytest.fixture(scope="session")
def real_frames(bus, vtest_frames, camvid_frames) -> list[np.ndarray]:
    return [bus, *vtest_frames, *camvid_frames]


# ROS domain ids the tests may take: not 0 (everyone's default) nor the low ones people pick by
# hand (42 in the README); not above 101, where a domain's DDS ports (7400 + 250 * id + ...)
# reach Linux's ephemeral range (32768-) and any socket on the machine may hold them.
ROS_TEST_DOMAINS = list(range(50, 102))


def _lock_ros_domain():
    """A ROS domain id no other test session on this machine holds: an exclusive flock on
    /tmp/inspire_ros_domain_<id>.lock, kept until the returned file is closed (or the process
    dies: the kernel releases it, so a crashed session leaves nothing stale)."""
    import fcntl
    import os
    import random
    import tempfile

    candidates = list(ROS_TEST_DOMAINS)
    random.Random().shuffle(candidates)  # spread over ids: fewer clashes with sessions that do not lock
    for domain in candidates:
        path = os.path.join(tempfile.gettempdir(), f"inspire_ros_domain_{domain}.lock")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:  # another user's lock file: taken
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return domain, os.fdopen(fd, "w")
    raise RuntimeError(
        f"every ROS test domain ({ROS_TEST_DOMAINS[0]}-{ROS_TEST_DOMAINS[-1]}) is held by another session: "
        "set ROS_DOMAIN_ID to choose one"
    )


@pytest.fixture(scope="session")
def ros_client():
    """An rclpy node in the test process (test/ros). The session gets its own ROS domain, so
    parallel runs and benchmarks on the machine do not see each other (ROS_DOMAIN_ID from the
    environment is kept); node processes started by the tests inherit it."""
    import os

    lock = None
    if not os.environ.get("ROS_DOMAIN_ID"):
        domain, lock = _lock_ros_domain()
        os.environ["ROS_DOMAIN_ID"] = str(domain)
    # Not ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST: with LARGE_DATA it matches endpoints but
    # delivers no data (Fast DDS from the kilted wheels).
    os.environ.setdefault("FASTDDS_BUILTIN_TRANSPORTS", "LARGE_DATA")
    from inspire_ros.bench.harness import Client

    try:
        client = Client("inspire_test_client")
        yield client
        client.close()
    finally:
        if lock is not None:
            os.environ.pop("ROS_DOMAIN_ID", None)
            lock.close()
