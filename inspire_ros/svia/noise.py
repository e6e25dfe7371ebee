"""SVIA step 2: Laplace noise on the original pixels inside the selected masks.

The scale b (in 8-bit levels) is the privacy knob: the inpainter sees the region only through
this noise, so the more noise, the less of the real facade, sign or person survives into the
synthesized region (and the more the region is invented from its surroundings).
"""

from __future__ import annotations

import numpy as np


def laplace_noise(image: np.ndarray, mask: np.ndarray, scale: float, rng: np.random.Generator) -> np.ndarray:
    """`image` (HxWx3 uint8) with Laplace(0, scale) noise added where `mask` (HxW) is set,
    clipped to [0, 255]; a new array, pixels outside the mask unchanged."""
    out = image.copy()
    if scale <= 0:
        return out
    where = mask.astype(bool)
    n = int(where.sum())
    if n:
        noise = rng.laplace(0.0, scale, (n, image.shape[2])).astype(np.float32)
        out[where] = np.clip(image[where].astype(np.float32) + noise, 0, 255).astype(np.uint8)
    return out
