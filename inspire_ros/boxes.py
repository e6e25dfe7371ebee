"""Box geometry, vectorised: what the tracker, sliced inference, the evaluation and the benchmarks share."""

from __future__ import annotations

import numpy as np

from .types import Box


def _xyxy(boxes: list[Box]) -> np.ndarray:
    return np.array([b.as_list() for b in boxes], np.float64).reshape(-1, 4)


def intersections(a: list[Box], b: list[Box]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(intersection areas (len(a), len(b)), areas of a, areas of b)."""
    A, B = _xyxy(a), _xyxy(b)
    iw = (np.minimum(A[:, None, 2], B[None, :, 2]) - np.maximum(A[:, None, 0], B[None, :, 0])).clip(0)
    ih = (np.minimum(A[:, None, 3], B[None, :, 3]) - np.maximum(A[:, None, 1], B[None, :, 1])).clip(0)
    area_a = (A[:, 2] - A[:, 0]) * (A[:, 3] - A[:, 1])
    area_b = (B[:, 2] - B[:, 0]) * (B[:, 3] - B[:, 1])
    return iw * ih, area_a, area_b


def iou_matrix(a: list[Box], b: list[Box]) -> np.ndarray:
    inter, area_a, area_b = intersections(a, b)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when they do not overlap)."""
    return float(iou_matrix([a], [b])[0, 0])


def union(a: Box, b: Box) -> Box:
    """The smallest box holding both."""
    return Box(min(a.x0, b.x0), min(a.y0, b.y0), max(a.x1, b.x1), max(a.y1, b.y1))


def box_mask(shape: tuple[int, ...], boxes) -> np.ndarray:
    """HxW bool: the union of the whole boxes, clipped to the frame."""
    mask = np.zeros(shape[:2], bool)
    for b in boxes:
        mask[max(b.y0, 0) : b.y1, max(b.x0, 0) : b.x1] = True
    return mask


def union_mask(shape: tuple[int, ...], items) -> np.ndarray:
    """HxW bool: the union of the items' box-sized masks (`.box`, `.mask`: instances replaced,
    ground truth), placed at their boxes; the whole box where an item has no mask (None) or one
    that does not fit it, clipped to the frame."""
    mask = np.zeros(shape[:2], bool)
    for item in items:
        b = item.box
        region = mask[max(b.y0, 0) : b.y1, max(b.x0, 0) : b.x1]
        m = item.mask
        if m is not None and m.shape == (b.height, b.width) and b.x0 >= 0 and b.y0 >= 0:
            region |= m[: region.shape[0], : region.shape[1]]
        else:
            region[...] = True
    return mask
