"""The instance dataset builder on real CamVid frames, and its Cityscapes reader."""

import json

import cv2
import numpy as np
import pytest

from inspire_ros.config import EdgeConfig
from inspire_ros.extract import edge_maps
from inspire_ros.train.dataset import build, load

from support import CAMVID_SUBSET as FRAMES
from support import make_camvid_subset

pytestmark = pytest.mark.usefixtures("shared")  # real data or the default detector from the shared folder


def test_camvid_instances_match_labels(tmp_path):
    root = make_camvid_subset(tmp_path / "camvid")
    report = build("camvid", root, "val", tmp_path / "out", size=64)
    data = load(tmp_path / "out" / "val.npz")
    n = len(data["category"])
    assert n == sum(report.counts.values()) > 5
    assert data["images"].shape == (n, 64, 64, 3) and data["masks"].shape == (n, 64, 64)
    assert set(np.unique(data["masks"])) <= {0, 1} and not data["masks"][~data["valid"]].any()
    # Edges come from the inference code, on the stored crops.
    assert np.array_equal(data["edges"], edge_maps(data["images"], data["valid"], EdgeConfig()))
    # Every kept instance is its labelled region: the stored mask maps back onto the label.
    label = cv2.imread(str(root / "val" / "labels" / f"{FRAMES[0]}.png"), cv2.IMREAD_GRAYSCALE)
    first = np.flatnonzero(data["frame"] == 0)
    for i in first:
        x0, y0, x1, y1 = data["box"][i]
        lid = 9 if data["category"][i] == 0 else 8
        region = label[y0:y1, x0:x1] == lid
        mask = data["masks"][i]
        back = cv2.resize(mask[mask.any(1)][:, mask.any(0)].astype(np.float32), (x1 - x0, y1 - y0)) >= 0.5
        assert (back & region).sum() / max(1, back.sum()) > 0.8
    saved = json.loads((tmp_path / "out" / "val.json").read_text())
    assert saved["frames"] == 2 and sum(saved["skipped_by_filter"].values()) > 0


def test_cityscapes_layout_gives_the_same_instances(tmp_path):
    """A Cityscapes-layout copy of CamVid frames (instanceIds = class * 1000 + index)."""
    camvid = make_camvid_subset(tmp_path / "camvid")
    city = tmp_path / "cityscapes"
    for name in FRAMES:
        img_dir, gt_dir = city / "leftImg8bit" / "val" / "cam", city / "gtFine" / "val" / "cam"
        img_dir.mkdir(parents=True, exist_ok=True)
        gt_dir.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(
            str(img_dir / f"{name}_leftImg8bit.png"), cv2.imread(str(camvid / "val" / "images" / f"{name}.jpg"))
        )
        label = cv2.imread(str(camvid / "val" / "labels" / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
        ids = np.full(label.shape, 7, np.uint16)  # road: a stuff class, not an instance
        for lid, cls in ((9, 24), (8, 26)):
            n, cc = cv2.connectedComponents((label == lid).astype(np.uint8), connectivity=8)
            for j in range(1, n):
                ids[cc == j] = cls * 1000 + j
        cv2.imwrite(str(gt_dir / f"{name}_gtFine_instanceIds.png"), ids)
    a = build("camvid", camvid, "val", tmp_path / "a")
    b = build("cityscapes", city, "val", tmp_path / "b")
    assert a.counts == b.counts and a.skipped == b.skipped
    da, db = load(tmp_path / "a" / "val.npz"), load(tmp_path / "b" / "val.npz")
    order_a = np.lexsort(da["box"].T[::-1])
    order_b = np.lexsort(db["box"].T[::-1])
    assert np.array_equal(da["masks"][order_a], db["masks"][order_b])
    assert np.array_equal(da["images"][order_a], db["images"][order_b])


def test_limit_stops_after_that_many_frames(tmp_path):
    root = make_camvid_subset(tmp_path / "camvid")
    build("camvid", root, "val", tmp_path / "out", limit=1)
    assert json.loads((tmp_path / "out" / "val.json").read_text())["frames"] == 1
    assert set(load(tmp_path / "out" / "val.npz")["frame"].tolist()) == {0}
