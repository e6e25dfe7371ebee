"""Shared helpers for the weight-free mask extractors: shape prior and mask clean-up."""

from __future__ import annotations

import cv2
import numpy as np

from ..types import CropBatch

# Superellipse exponent of the shape prior: people are rounded, vehicles are boxy.
_EXPONENT = {"person": 2.0}
_DEFAULT_EXPONENT = 4.0


def scaled_rects(batch: CropBatch, work: int) -> np.ndarray:
    """(N,4) float [x0, y0, x1, y1] of the box content in a work x work grid."""
    f = work / batch.size
    return np.array(
        [
            [g.offset_x * f, g.offset_y * f, (g.offset_x + g.width) * f, (g.offset_y + g.height) * f]
            for g in batch.geometry
        ],
        np.float32,
    ).reshape(-1, 4)


def radius(rects: np.ndarray, work: int, category: str) -> np.ndarray:
    """Normalised superellipse radius of every pixel centre: 0 at the box centre, 1 on the
    ellipse inscribed in the box, >1 towards its corners. (N, work, work)."""
    c = (np.arange(work, dtype=np.float32) + 0.5)[None]
    cx, cy = (rects[:, 0:1] + rects[:, 2:3]) / 2, (rects[:, 1:2] + rects[:, 3:4]) / 2
    hw, hh = np.maximum((rects[:, 2:3] - rects[:, 0:1]) / 2, 0.5), np.maximum((rects[:, 3:4] - rects[:, 1:2]) / 2, 0.5)
    dx = np.abs(c - cx) / hw  # (N, work)
    dy = np.abs(c - cy) / hh
    p = _EXPONENT.get(category, _DEFAULT_EXPONENT)
    return (dy[:, :, None] ** p + dx[:, None, :] ** p) ** (1.0 / p)


def clean_masks(masks: np.ndarray, rho: np.ndarray, core: float, size: int, valid: np.ndarray) -> np.ndarray:
    """Close gaps, fill holes, keep the part connected to the centre, always keep the core
    (rho < core) so a low-contrast instance is still covered, then upsample to size."""
    n, work = masks.shape[:2]
    out = np.zeros((n, size, size), np.uint8)
    small = np.zeros((work, work, n), np.float32)
    kernel = np.ones((3, 3), np.uint8)
    for i in range(n):
        m = (masks[i] | (rho[i] < core)).astype(np.uint8)
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, kernel)
        count, labels = cv2.connectedComponents(m, connectivity=8)
        if count > 2:
            core_labels = np.unique(labels[(rho[i] < core) & (m > 0)])
            m = np.isin(labels, core_labels[core_labels > 0]).astype(np.uint8)
        flood = cv2.copyMakeBorder(1 - m, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=1)
        cv2.floodFill(flood, None, (0, 0), 2)
        small[:, :, i] = m | (flood[1:-1, 1:-1] == 1)  # fill holes
    # One resize for the whole batch: masks as channels (cv2 takes up to 512 per call).
    for j in range(0, n, 256):
        up = cv2.resize(small[:, :, j : j + 256], (size, size), interpolation=cv2.INTER_LINEAR)
        out[j : j + 256] = up.reshape(size, size, -1).transpose(2, 0, 1) >= 0.5
    return out & valid


def small_crops(batch: CropBatch, work: int) -> np.ndarray:
    if work == batch.size:
        return batch.images
    return np.stack([cv2.resize(im, (work, work), interpolation=cv2.INTER_AREA) for im in batch.images])
