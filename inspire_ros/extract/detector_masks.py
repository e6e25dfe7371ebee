"""Instance masks from a segmenting detector (e.g. an ultralytics -seg model) as the mask.

Detections that come without a mask fall back to the weight-free contrast mask, so an
instance is never left unmasked.
"""

from __future__ import annotations

import numpy as np

from ..config import Config, ExtractorConfig
from ..crop import crop_mask
from ..types import CropBatch, Features
from .contrast import ContrastExtractor
from .edges import edge_maps


class DetectorMaskExtractor:
    def __init__(self, cfg: ExtractorConfig, full: Config | None = None):
        self.cfg = cfg
        self.fallback = ContrastExtractor(ExtractorConfig(edges=cfg.edges))

    def extract(self, batch: CropBatch) -> Features:
        masks = np.zeros((len(batch), batch.size, batch.size), np.uint8)
        missing = [i for i, d in enumerate(batch.detections) if d.mask is None]
        if missing:
            masks[missing] = self.fallback.masks(batch)[missing]
        for i, (det, g) in enumerate(zip(batch.detections, batch.geometry, strict=True)):
            if det.mask is not None:
                masks[i] = crop_mask(det.mask, g, batch.size)
        return Features(masks, edge_maps(batch.images, batch.valid, self.cfg.edges))
