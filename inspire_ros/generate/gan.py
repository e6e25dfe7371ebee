"""Learned generator: conditional GAN (pix2pix family) run by onnxruntime.

Input: mask, edges and a category plane, plus the latent; never the crop's pixels. One
session call per category batch.
"""

from __future__ import annotations

import numpy as np

from ..config import Config, GeneratorConfig
from ..onnx_block import category_code, load_session

DEFAULT_MODEL = "inspire_gen_camvid.onnx"


class GanGenerator:
    def __init__(self, gcfg: GeneratorConfig, cfg: Config | None = None):
        self.session = load_session(gcfg.model, gcfg.sha256, DEFAULT_MODEL, cfg)
        self.latent_dim = int(self.session.get_inputs()[1].shape[1])

    def generate(self, category: str, masks: np.ndarray, edges: np.ndarray, latents: np.ndarray) -> np.ndarray:
        n, s = masks.shape[:2]
        if n == 0:
            return np.zeros((0, s, s, 3), np.uint8)
        cond = np.empty((n, 3, s, s), np.float32)
        cond[:, 0], cond[:, 1], cond[:, 2] = masks, edges, category_code(category)
        (image,) = self.session.run(None, {"cond": cond, "latent": latents[:, : self.latent_dim].astype(np.float32)})
        return np.clip((image.transpose(0, 2, 3, 1) + 1) * 127.5 + 0.5, 0, 255).astype(np.uint8)
