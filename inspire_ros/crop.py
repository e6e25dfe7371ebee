"""Stage 2: crop each instance by its box, zero-pad symmetrically to a square, resize.

Instead of building the padded LxL square and resizing it, the box content is resized
straight into its place inside the SxS crop: the same result without a second copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from .types import CropBatch, CropGeometry, Detection

if TYPE_CHECKING:
    from .config import CategoryConfig


def crop_size_for(det: Detection, category_cfg: CategoryConfig) -> int:
    """The crop side an instance is synthesized at: large_crop_size (when set) if its padded
    square side (the box's longer side) is more than crop_size * max_upscale, else crop_size."""
    large = category_cfg.large_crop_size
    if large is not None and max(det.box.width, det.box.height) > category_cfg.crop_size * category_cfg.max_upscale:
        return large
    return category_cfg.crop_size


def crop_geometry(det: Detection, size: int) -> CropGeometry:
    w, h = det.box.width, det.box.height
    side = max(w, h)
    scale = size / side
    cw, ch = max(1, round(w * scale)), max(1, round(h * scale))
    return CropGeometry(det.box, (size - cw) // 2, (size - ch) // 2, cw, ch)


def crop_batch(frame: np.ndarray, category: str, detections: list[Detection], size: int) -> CropBatch:
    n = len(detections)
    images = np.zeros((n, size, size, 3), np.uint8)
    valid = np.zeros((n, size, size), bool)
    geometry = []
    for i, det in enumerate(detections):
        g = crop_geometry(det, size)
        b = det.box
        # INTER_AREA when shrinking keeps thin structures (limbs, poles) from aliasing away.
        interp = cv2.INTER_AREA if g.width < b.width else cv2.INTER_LINEAR
        content = cv2.resize(frame[b.y0 : b.y1, b.x0 : b.x1], (g.width, g.height), interpolation=interp)
        images[i, g.offset_y : g.offset_y + g.height, g.offset_x : g.offset_x + g.width] = content
        valid[i, g.offset_y : g.offset_y + g.height, g.offset_x : g.offset_x + g.width] = True
        geometry.append(g)
    return CropBatch(category, size, list(detections), images, valid, geometry)


def crop_mask(mask: np.ndarray, g: CropGeometry, size: int) -> np.ndarray:
    """A box-sized mask (HxW bool) into crop space (SxS uint8 {0,1}), as crop_batch maps pixels."""
    out = np.zeros((size, size), np.uint8)
    m = cv2.resize(mask.astype(np.float32), (g.width, g.height), interpolation=cv2.INTER_LINEAR)
    out[g.offset_y : g.offset_y + g.height, g.offset_x : g.offset_x + g.width] = m >= 0.5
    return out


def uncrop(array: np.ndarray, g: CropGeometry, interpolation: int) -> np.ndarray:
    """Map an SxS(xC) crop-space array back to its box's HxW(xC)."""
    inner = array[g.offset_y : g.offset_y + g.height, g.offset_x : g.offset_x + g.width]
    return cv2.resize(inner, (g.box.width, g.box.height), interpolation=interpolation)
