"""Edge maps: contrast normalisation, Gaussian blur, then Canny. Blur kernel size and sigma
are the privacy knobs."""

from __future__ import annotations

import cv2
import numpy as np

from ..config import EdgeConfig


def edge_maps(images: np.ndarray, valid: np.ndarray, cfg: EdgeConfig) -> np.ndarray:
    """(N,S,S,3) uint8 crops -> (N,S,S) uint8 {0,1} edges inside the box content only.

    With `contrast: clahe` each crop's content (not its zero padding, which would skew the
    histogram) is equalised locally first: fixed Canny thresholds then find the outline of a
    dark car as they find a bright one's. The border between box content and zero padding is
    not an object edge: it is removed so the generator is not conditioned on the crop's
    aspect ratio twice.
    """
    n, s = images.shape[:2]
    out = np.zeros((n, s, s), np.uint8)
    # Erode the valid area by one pixel so the padding border itself never counts.
    inner = cv2.erode(valid.astype(np.uint8).transpose(1, 2, 0).copy(), np.ones((3, 3), np.uint8))
    inner = inner.reshape(s, s, n).transpose(2, 0, 1)
    k = cfg.kernel_size
    # Tiles scale with the crop (8 px of a 64 crop, 16 of a 128 one): the same share of an instance.
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)) if cfg.contrast == "clahe" else None
    for i in range(n):
        gray = cv2.cvtColor(images[i], cv2.COLOR_BGR2GRAY)
        if clahe is not None:
            rows, cols = np.flatnonzero(valid[i].any(1)), np.flatnonzero(valid[i].any(0))
            if len(rows) > 1 and len(cols) > 1:
                y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
                gray[y0:y1, x0:x1] = clahe.apply(np.ascontiguousarray(gray[y0:y1, x0:x1]))
        if k > 1:
            gray = cv2.GaussianBlur(gray, (k, k), cfg.sigma)
        out[i] = cv2.Canny(gray, cfg.low, cfg.high) > 0
    return out & inner
