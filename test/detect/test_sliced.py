"""Sliced inference: tiles at native resolution find people the downscaled full frame misses;
boxes cut by a tile edge are joined; frames the full pass sees natively are not tiled."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inspire_ros import config as config_mod
from inspire_ros.detect import build_detector
from inspire_ros.detect.sliced import SlicedDetector, merge, plan_tiles
from inspire_ros.types import Box, Detection

from support import read_video_frames


@pytest.mark.parametrize(
    "width, height, size, overlap",
    [(1920, 1080, 640, 0.2), (768, 576, 640, 0.0), (500, 300, 640, 0.3), (4000, 300, 512, 0.5)],
)
def test_tiles_cover_the_frame_with_the_overlap_asked(width, height, size, overlap):
    tiles = plan_tiles(width, height, size, overlap)
    cover = np.zeros((height, width), np.uint8)
    for t in tiles:
        assert 0 <= t.x0 < t.x1 <= width and 0 <= t.y0 < t.y1 <= height
        assert t.width == min(size, width) and t.height == min(size, height)
        cover[t.y0 : t.y1, t.x0 : t.x1] += 1
    assert cover.min() >= 1
    xs = sorted({t.x0 for t in tiles})
    for a, b in zip(xs, xs[1:], strict=False):  # neighbours share at least `overlap` of a tile
        assert (a + size) - b >= int(size * overlap) - 1


def det(box, score=0.9, cls=0):
    return Detection(Box(*box), "person" if cls == 0 else "car", cls, score)


def test_a_box_cut_by_a_tile_edge_is_joined_and_duplicates_suppressed():
    left = det([500, 100, 640, 300], 0.8)  # cut by the right edge of tile [0, 640)
    right = det([512, 102, 700, 298], 0.7)  # the same person, cut by the left edge of tile [512, ...)
    same = det([505, 98, 698, 301], 0.6)  # the full-frame pass, whole
    car = det([520, 150, 640, 250], 0.9, cls=2)  # another class: never joined with a person
    merged = merge([(left, True), (right, True), (same, False), (car, True)], 0.45)
    people = [d for d in merged if d.category == "person"]
    assert len(people) == 1 and people[0].box == Box(500, 98, 700, 301) and people[0].score == 0.8
    assert [d.box for d in merged if d.category == "car"] == [car.box]
    # Two people side by side, not cut: both kept.
    a, b = det([100, 100, 140, 200]), det([150, 100, 190, 200])
    assert len(merge([(a, False), (b, False)], 0.45)) == 2


@pytest.fixture(scope="module")
def crowd() -> np.ndarray:
    """Four PETS09 frames as one 1920x1440 frame: about 30 people, most of them small."""
    f = read_video_frames([0, 100, 200, 300])
    return cv2.resize(np.vstack([np.hstack(f[:2]), np.hstack(f[2:])]), (1920, 1440))


@pytest.mark.usefixtures("shared")
def test_tiles_find_people_the_downscaled_full_frame_misses(crowd):
    cfg = config_mod.load(None, preset="thorough")
    tiled = build_detector(cfg)
    assert isinstance(tiled, SlicedDetector) and tiled.passes(1920, 1440) > 1
    full = build_detector(cfg.replace(**{"detector.tiles.enabled": False}))
    people_full = [d for d in full.detect(crowd) if d.category == "person"]
    people_tiled = [d for d in tiled.detect(crowd) if d.category == "person"]
    assert len(people_tiled) >= len(people_full) + 2
    for d in people_full:  # nothing the full pass found is lost by merging
        best = max((_ios(d.box, t.box) for t in people_tiled), default=0.0)
        assert best > 0.5, d


@pytest.mark.usefixtures("shared")
def test_frames_the_full_pass_sees_natively_are_not_tiled(crowd):
    tiled = build_detector(config_mod.load(None, preset="thorough"))
    small = cv2.resize(crowd, (768, 576))
    assert tiled.passes(768, 576) == 1
    assert [d.box for d in tiled.detect(small)] == [d.box for d in tiled.inner.detect(small)]


def _ios(a: Box, b: Box) -> float:
    inter = max(0, min(a.x1, b.x1) - max(a.x0, b.x0)) * max(0, min(a.y1, b.y1) - max(a.y0, b.y0))
    return inter / max(1, min(a.area, b.area))
