"""Weight-free mask: colour contrast against the box corners, weighted by a shape prior.

A tight box's corners are background for people and vehicles; pixels whose Lab colour is
far from every corner sample, or that sit near the box centre, are the object. The whole
batch is scored with one matrix product (no per-instance model call): about 1 ms for ten
instances at the default 32x32 working size.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..types import CropBatch
from .base import MaskExtractor
from .shape import clean_masks, radius, scaled_rects, small_crops


class ContrastExtractor(MaskExtractor):
    DEFAULTS = {"work_size": 32, "samples": 32, "tau": 8.0, "core": 0.6, "threshold": 0.35, "adaptive": 0.7}

    def masks(self, batch: CropBatch) -> np.ndarray:
        n, work = len(batch), int(self.p["work_size"])
        small = small_crops(batch, work)
        lab = cv2.cvtColor(small.reshape(n * work, work, 3), cv2.COLOR_BGR2Lab).astype(np.float32)
        lab = lab.reshape(n, work * work, 3)
        rects = scaled_rects(batch, work)
        rho = radius(rects, work, batch.category)
        c = np.arange(work)[None] + 0.5
        inside_x = (c >= rects[:, 0:1]) & (c < rects[:, 2:3])
        inside_y = (c >= rects[:, 1:2]) & (c < rects[:, 3:4])
        inside = inside_y[:, :, None] & inside_x[:, None, :]
        background = (inside & (rho > 1.15)).reshape(n, -1)
        k = int(self.p["samples"])
        samples = np.empty((n, k, 3), np.float32)
        for i in range(n):
            idx = np.flatnonzero(background[i])
            if idx.size == 0:  # degenerate box: nothing outside the ellipse, use the border
                idx = np.flatnonzero(inside[i].reshape(-1))
            samples[i] = lab[i, idx[np.linspace(0, idx.size - 1, k).astype(int)]]
        # min_k |a - b_k|^2 = |a|^2 + min_k (|b_k|^2 - 2 a.b_k): one batched matmul.
        # (N, K, P) so the min runs over the outer axis: numpy vectorizes that, not a min
        # over a short innermost axis.
        d2 = (samples**2).sum(-1)[:, :, None] - 2 * samples @ lab.transpose(0, 2, 1)
        dist = np.sqrt(np.maximum(d2.min(1) + (lab**2).sum(-1), 0)).reshape(n, work, work)
        tau = self.p["tau"]
        if self.p["adaptive"]:
            # Scale to the instance's own contrast: dark, low-contrast scenes still separate.
            spread = np.percentile(np.where(inside, dist, np.nan).reshape(n, -1), 75, axis=1)
            tau = np.clip(self.p["adaptive"] * np.nan_to_num(spread, nan=tau), 3.0, tau)[:, None, None]
        colour = np.clip(dist / tau, 0, 1)
        prior = np.clip(1.25 - rho, 0, 1)
        raw = (0.55 * colour + 0.45 * prior > self.p["threshold"]) & inside
        return clean_masks(raw, rho, self.p["core"], batch.size, batch.valid)
