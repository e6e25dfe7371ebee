"""Fixtures: real frames and models from the shared folder (../shared by default, or
INSPIRE_SHARED), the default config, and a ROS client. Tests import helpers from support/,
never from this file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inspire_ros import config as config_mod
from inspire_ros.paths import default_config_path

from support import BUS, CAMVID, read_video_frames, require_shared


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared folder (real data, third-party models such as the default detector's). Every
    fixture that reads it asks for this one; a test that reads it otherwise says so with
    `pytest.mark.usefixtures("shared")`. Missing, it fails those tests (not skips them) with
    the message naming INSPIRE_SHARED; tests that need no shared data run without it."""
    return require_shared()


@pytest.fixture(scope="session")
def default_cfg() -> config_mod.Config:
    """The default config (config/default.yaml; reads nothing from the shared folder, building
    its detector does)."""
    return config_mod.load(default_config_path())


@pytest.fixture(scope="session")
def bus(shared) -> np.ndarray:
    return cv2.imread(str(BUS))


@pytest.fixture(scope="session")
def vtest_frames(shared) -> list[np.ndarray]:
    return read_video_frames([0, 150, 400])


@pytest.fixture(scope="session")
def camvid_frames(shared) -> list[np.ndarray]:
    names = ["val/images/0016E5_08053.jpg", "test/images/0001TP_009240.jpg", "train/images/0006R0_f02220.jpg"]
    return [cv2.imread(str(CAMVID / n)) for n in names]


@pytest.fixture(scope="session")
def real_frames(bus, vtest_frames, camvid_frames) -> list[np.ndarray]:
    return [bus, *vtest_frames, *camvid_frames]


@pytest.fixture(scope="module")
def real_instances(default_cfg, vtest_frames, camvid_frames):
    """(frame, category, detections) of real frames, as the default detector finds them."""
    from inspire_ros.detect import build_detector

    detector = build_detector(default_cfg)
    found = []
    for frame in (vtest_frames[1], camvid_frames[1]):
        dets = detector.detect(frame)
        for category in ("person", "car"):
            mine = [d for d in dets if d.category == category]
            if mine:
                found.append((frame, category, mine))
    assert {c for _, c, _ in found} == {"person", "car"}
    return found


@pytest.fixture(scope="module")
def real_batches(real_instances):
    from inspire_ros.crop import crop_batch

    return [crop_batch(frame, category, dets, 64) for frame, category, dets in real_instances]


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
