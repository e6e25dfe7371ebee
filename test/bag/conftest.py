"""Fixtures of the bag tests (test/bag): camera bags written from real frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inspire_ros.bench.camera_bags import BagSpec, write_camera_bag


@pytest.fixture(scope="module")
def bag_frames(vtest_frames, camvid_frames) -> list[np.ndarray]:
    """Two PETS frames (pedestrians, parked cars) and a CamVid frame (cars)."""
    return [vtest_frames[1], vtest_frames[2], camvid_frames[0]]


@pytest.fixture
def make_bag(tmp_path, bag_frames):
    """make(spec, name=None): a bag of `bag_frames` under tmp_path/in (default name camera, or
    camera.bag for ROS 1)."""
    (tmp_path / "in").mkdir()

    def make(spec: BagSpec, name: str | None = None) -> Path:
        name = name or ("camera.bag" if spec.kind == "rosbag1" else "camera")
        return write_camera_bag(tmp_path / "in" / name, bag_frames, spec)

    return make
