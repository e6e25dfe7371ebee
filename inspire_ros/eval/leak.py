"""Leak rate: ground-truth instances left more than 20 % unreplaced.

The detector's misses are the privacy failures that matter most: an instance it never
found is passed through untouched. With a pixel mask (CamVid) the unreplaced share is the
share of the instance's pixels no replaced mask covers. With a box only (PETS09) the person's
silhouette is unknown, so the share of its box outside every replaced instance's box counts
(a mask-based method is not blamed for the background it rightly keeps).
"""

from __future__ import annotations

import numpy as np

from ..boxes import box_mask, union_mask
from ..datasets import GtInstance
from ..types import Instance

LEAK_THRESHOLD = 0.2


def unreplaced_fractions(shape: tuple[int, ...], gt: list[GtInstance], instances: list[Instance]) -> list[float]:
    """Per ground-truth instance, the share of it left unreplaced (0 = fully covered)."""
    pixels = boxes = None
    out = []
    for g in gt:
        b = g.box
        if g.mask is not None:
            pixels = union_mask(shape, instances) if pixels is None else pixels
            covered, region = pixels[b.y0 : b.y1, b.x0 : b.x1], g.mask
        else:
            boxes = box_mask(shape, [i.box for i in instances]) if boxes is None else boxes
            covered, region = boxes[b.y0 : b.y1, b.x0 : b.x1], np.ones((b.height, b.width), bool)
        area = int(region.sum())
        out.append(1.0 - float((covered & region).sum()) / area if area else 0.0)
    return out


def leak_rate(fractions: list[float], threshold: float = LEAK_THRESHOLD) -> float:
    """Share of instances whose unreplaced share exceeds `threshold`."""
    return float(np.mean(np.asarray(fractions) > threshold)) if fractions else float("nan")
