"""Weight-free mask by GrabCut seeded from the box and the shape prior.

Better boundaries than `contrast` on cluttered backgrounds, at about 2 ms per instance at
32x32 (one call per instance): use it offline when quality matters more than rate.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..types import CropBatch
from .base import MaskExtractor
from .shape import clean_masks, radius, scaled_rects, small_crops


class GrabCutExtractor(MaskExtractor):
    DEFAULTS = {"work_size": 32, "iterations": 2, "core": 0.45}

    def masks(self, batch: CropBatch) -> np.ndarray:
        n, work = len(batch), int(self.p["work_size"])
        small = small_crops(batch, work)
        rho = radius(scaled_rects(batch, work), work, batch.category)
        f = work / batch.size
        raw = np.zeros((n, work, work), bool)
        bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
        for i, g in enumerate(batch.geometry):
            seed = np.full((work, work), cv2.GC_BGD, np.uint8)  # padding: never object
            y0, y1 = int(g.offset_y * f), int(np.ceil((g.offset_y + g.height) * f))
            x0, x1 = int(g.offset_x * f), int(np.ceil((g.offset_x + g.width) * f))
            seed[y0:y1, x0:x1] = cv2.GC_PR_BGD
            seed[(rho[i] < 1.0) & (seed == cv2.GC_PR_BGD)] = cv2.GC_PR_FGD
            seed[(rho[i] < self.p["core"]) & (seed == cv2.GC_PR_FGD)] = cv2.GC_FGD
            try:
                cv2.grabCut(small[i], seed, None, bgd, fgd, int(self.p["iterations"]), cv2.GC_INIT_WITH_MASK)
            except cv2.error:  # one colour only: keep the prior
                pass
            raw[i] = (seed == cv2.GC_FGD) | (seed == cv2.GC_PR_FGD)
        return clean_masks(raw, rho, self.p["core"], batch.size, batch.valid)
