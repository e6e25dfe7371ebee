"""Obfuscation baselines applied to whole boxes: box blur (paper's variant), pixelate, fill."""

from __future__ import annotations

import cv2
import numpy as np

from .config import BaselinesConfig
from .types import Detection, Instance


def _blur(region: np.ndarray, cfg: BaselinesConfig) -> np.ndarray:
    b = cfg.blur
    h, w = region.shape[:2]
    square = cv2.resize(region, (b.size, b.size), interpolation=cv2.INTER_LINEAR)
    square = cv2.GaussianBlur(square, (b.kernel_size, b.kernel_size), b.sigma)
    return cv2.resize(square, (w, h), interpolation=cv2.INTER_LINEAR)


def _pixelate(region: np.ndarray, cfg: BaselinesConfig) -> np.ndarray:
    h, w = region.shape[:2]
    cells = cfg.pixelate.cells
    scale = cells / max(h, w)
    small = cv2.resize(region, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def _fill(region: np.ndarray, cfg: BaselinesConfig) -> np.ndarray:
    return np.broadcast_to(np.array(cfg.fill.color, np.uint8), region.shape)


OBFUSCATORS = {"blur": _blur, "pixelate": _pixelate, "fill": _fill}


def obfuscate(frame: np.ndarray, detections: list[Detection], method: str, cfg: BaselinesConfig) -> list[Instance]:
    """Replace each box in place, smallest first like the inspire paste."""
    fn = OBFUSCATORS[method]
    out = []
    for d in sorted(detections, key=lambda d: d.box.area):
        b = d.box
        region = frame[b.y0 : b.y1, b.x0 : b.x1]
        region[...] = fn(region, cfg)
        out.append(Instance.of(d, b, b.area, np.ones((b.height, b.width), bool)))
    return out
