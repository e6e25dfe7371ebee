"""Stage 5: paste synthesized instances back, F*M + I*(1-M), smallest box first.

Composition happens at frame resolution with the binary mask resized back to the box:
every pixel outside the pasted masks stays bit-identical to the input frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .crop import uncrop
from .types import CropGeometry, Detection, Instance


@dataclass
class Replacement:
    """One synthesized instance in crop space, waiting to be pasted."""

    detection: Detection
    geometry: CropGeometry
    image: np.ndarray  # (S,S,3) uint8
    mask: np.ndarray  # (S,S) uint8 {0,1}


def paste(frame: np.ndarray, replacements: list[Replacement]) -> list[Instance]:
    """Paste in place in ascending box area, so larger (nearer) objects end up on top."""
    instances = []
    for r in sorted(replacements, key=lambda r: r.detection.box.area):
        b, g = r.detection.box, r.geometry
        mask = uncrop(r.mask.astype(np.float32), g, cv2.INTER_LINEAR) >= 0.5
        image = uncrop(r.image, g, cv2.INTER_LINEAR)
        region = frame[b.y0 : b.y1, b.x0 : b.x1]
        np.copyto(region, image, where=mask[..., None])
        instances.append(Instance.of(r.detection, b, int(mask.sum()), mask))
    return instances
