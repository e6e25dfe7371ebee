"""Leak rate on real ground truth: CamVid masks (pixels) and PETS09 boxes."""

from __future__ import annotations

import numpy as np
import pytest

from inspire_ros.datasets import camvid_samples, pets09_samples
from inspire_ros.eval.leak import leak_rate, unreplaced_fractions
from inspire_ros.eval.methods import build
from inspire_ros.types import Detection, Instance

from support import SHARED

pytestmark = pytest.mark.usefixtures("shared")  # real data or the default detector from the shared folder


@pytest.fixture(scope="module")
def samples():
    camvid = camvid_samples(SHARED, ["val"], step=20, min_area=200, limit=3)
    pets, _ = pets09_samples(SHARED, query_step=50, query_limit=1, gallery_step=100)
    return [s for s in camvid if len(s.gt) >= 2] + pets


def dets(gt) -> list[Detection]:
    return [Detection(g.box, g.category, 0, 1.0) for g in gt]


def isolated(gt) -> int:
    """Index of an instance whose box overlaps no other ground-truth box."""
    for i, g in enumerate(gt):
        others = [o.box for j, o in enumerate(gt) if j != i]
        if all(
            min(g.box.x1, o.x1) <= max(g.box.x0, o.x0) or min(g.box.y1, o.y1) <= max(g.box.y0, o.y0) for o in others
        ):
            return i
    raise AssertionError("no isolated instance")


def test_fill_of_every_gt_box_leaks_nothing_and_a_skipped_instance_leaks(samples):
    fill, none = build("fill", SHARED), build("none", SHARED)
    assert {s.dataset for s in samples} == {"camvid", "pets09"}
    for s in samples:
        rng = np.random.default_rng(0)
        _, instances = fill.apply(s.frame, dets(s.gt), rng)
        assert leak_rate(unreplaced_fractions(s.frame.shape, s.gt, instances)) == 0.0
        skip = isolated(s.gt)
        _, instances = fill.apply(s.frame, dets(s.gt[:skip] + s.gt[skip + 1 :]), rng)
        fractions = unreplaced_fractions(s.frame.shape, s.gt, instances)
        assert fractions[skip] == 1.0
        assert leak_rate(fractions) == pytest.approx(1 / len(s.gt))
        _, instances = none.apply(s.frame, dets(s.gt), rng)
        assert leak_rate(unreplaced_fractions(s.frame.shape, s.gt, instances)) == 1.0


def test_masks_are_judged_by_pixels_and_bare_boxes_by_box_cover(samples):
    camvid = next(s for s in samples if s.dataset == "camvid")
    g = camvid.gt[0]
    exact = Instance(g.category, g.box, 1.0, int(g.mask.sum()), g.mask.copy())
    assert unreplaced_fractions(camvid.frame.shape, [g], [exact]) == [0.0]
    # The same box with a mask that misses a third of the instance's pixels leaks.
    rows = np.flatnonzero(g.mask.any(1))
    partial = g.mask.copy()
    partial[rows[: len(rows) // 3 + 1]] = False
    missed = 1 - partial.sum() / g.mask.sum()
    frac = unreplaced_fractions(camvid.frame.shape, [g], [Instance(g.category, g.box, 1.0, 0, partial)])
    assert frac[0] == pytest.approx(missed) and leak_rate(frac) == 1.0
    # PETS09 gives boxes only: a mask-based replacement inside a box that covers the person's box
    # does not leak, whatever background it keeps.
    pets = next(s for s in samples if s.dataset == "pets09")
    p = pets.gt[0]
    silhouette = np.zeros((p.box.height, p.box.width), bool)
    silhouette[:, p.box.width // 4 : 3 * p.box.width // 4] = True
    inst = Instance("person", p.box, 1.0, int(silhouette.sum()), silhouette)
    assert unreplaced_fractions(pets.frame.shape, [p], [inst]) == [0.0]
