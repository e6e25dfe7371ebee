"""Pairwise box geometry, vectorised: what the tracker, sliced inference and the evaluation share."""

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


def union(a: Box, b: Box) -> Box:
    """The smallest box holding both."""
    return Box(min(a.x0, b.x0), min(a.y0, b.y0), max(a.x1, b.x1), max(a.y1, b.y1))
