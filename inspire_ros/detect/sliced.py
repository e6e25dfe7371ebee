"""Sliced inference: a detector run on overlapping tiles (and the whole frame), boxes merged.

A nano detector at 416-960 px sees a 30 px tall pedestrian of a 1920x1080 frame as 8-15 px
and misses it. Tiles at the frame's native resolution keep such people at their real size;
the full-frame pass keeps people larger than a tile whole. Merging:
- a box cut by a tile edge (touching an edge inside the frame) is joined with the boxes of
  the same class it overlaps mostly (intersection over the smaller box), into their union;
- what remains goes through class-wise NMS, the highest score winning.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..boxes import intersections
from ..config import TilesConfig
from ..types import Box, Detection
from .base import Detector

EDGE_PX = 2  # a box this close to an inner tile edge was cut by it
JOIN_IOS = 0.5  # intersection over the smaller box above which a cut box joins another


def plan_tiles(width: int, height: int, size: int, overlap: float) -> list[Box]:
    """Tiles of `size` (or the frame's side where smaller) covering the frame, evenly spread,
    neighbours sharing at least `overlap` of a tile."""

    def starts(length: int) -> list[int]:
        if length <= size:
            return [0]
        step = max(1, int(size * (1.0 - overlap)))
        n = int(np.ceil((length - size) / step)) + 1
        return [round(i * (length - size) / (n - 1)) for i in range(n)]

    tw, th = min(size, width), min(size, height)
    return [Box(x, y, x + tw, y + th) for y in starts(height) for x in starts(width)]


class SlicedDetector:
    def __init__(self, inner: Detector, tiles: TilesConfig, nms_threshold: float, full_size: int):
        self.inner = inner
        # The longest frame side the inner detector sees at native resolution: frames up to
        # this need no tiles (they would see nothing the full-frame pass does not).
        self.full_size = full_size
        self.tiles = tiles
        self.nms_threshold = nms_threshold
        self.provider = getattr(inner, "provider", "?")

    def passes(self, width: int, height: int) -> int:
        """Detector runs for a frame of this size (the cost, in full-frame passes)."""
        tiles = self.plan(width, height)
        return len(tiles) + (self.tiles.full_frame and len(tiles) > 1)

    def plan(self, width: int, height: int) -> list[Box]:
        if max(width, height) <= self.full_size:
            return [Box(0, 0, width, height)]
        return plan_tiles(width, height, self.tiles.size, self.tiles.overlap)

    def detect(self, frame: np.ndarray) -> list[Detection]:
        h, w = frame.shape[:2]
        tiles = self.plan(w, h)
        if len(tiles) == 1:
            return self.inner.detect(frame)
        found: list[tuple[Detection, bool]] = []  # (detection, cut by a tile edge)
        if self.tiles.full_frame:
            found += [(d, False) for d in self.inner.detect(frame)]
        for t in tiles:
            for d in self.inner.detect(frame[t.y0 : t.y1, t.x0 : t.x1]):
                b = Box(d.box.x0 + t.x0, d.box.y0 + t.y0, d.box.x1 + t.x0, d.box.y1 + t.y0)
                found.append((d.with_box(b), _cut(b, t, w, h)))
        return merge(found, self.nms_threshold)


def _cut(b: Box, tile: Box, width: int, height: int) -> bool:
    return (
        (tile.x0 > 0 and b.x0 - tile.x0 <= EDGE_PX)
        or (tile.y0 > 0 and b.y0 - tile.y0 <= EDGE_PX)
        or (tile.x1 < width and tile.x1 - b.x1 <= EDGE_PX)
        or (tile.y1 < height and tile.y1 - b.y1 <= EDGE_PX)
    )


def merge(found: list[tuple[Detection, bool]], nms_threshold: float) -> list[Detection]:
    """Join cut boxes with what they mostly overlap (union of the group, best score), then
    class-wise NMS, highest score first."""
    if not found:
        return []
    dets = [d for d, _ in found]
    cut = np.array([c for _, c in found])
    boxes = [d.box for d in dets]
    xyxy = np.array([b.as_list() for b in boxes], np.float64)
    cls = np.array([d.class_id for d in dets])
    inter, area, _ = intersections(boxes, boxes)
    ios = inter / np.maximum(np.minimum(area[:, None], area[None, :]), 1.0)
    join = (ios >= JOIN_IOS) & (cls[:, None] == cls[None, :]) & (cut[:, None] | cut[None, :])
    # Groups of joined boxes (union-find over the pairs).
    parent = list(range(len(dets)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(join, 1)), strict=True):
        parent[root(int(i))] = root(int(j))
    groups: dict[int, list[int]] = {}
    for i in range(len(dets)):
        groups.setdefault(root(i), []).append(i)
    merged = []
    for members in groups.values():
        best = max(members, key=lambda k: dets[k].score)
        if len(members) == 1:
            merged.append(dets[best])
            continue
        box = Box(*(int(v) for v in (*xyxy[members, :2].min(0), *xyxy[members, 2:].max(0))))
        merged.append(dets[best].with_box(box))
    return _nms(merged, nms_threshold)


def _nms(dets: list[Detection], threshold: float) -> list[Detection]:
    if len(dets) < 2:
        return dets
    xywh = [[d.box.x0, d.box.y0, d.box.width, d.box.height] for d in dets]
    idx = cv2.dnn.NMSBoxesBatched(xywh, [d.score for d in dets], [d.class_id for d in dets], 0.0, threshold)
    return [dets[int(i)] for i in np.asarray(idx, dtype=np.int64).reshape(-1)]
