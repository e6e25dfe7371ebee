"""Generator interface.

A generator never receives original pixels: only the binary masks, the edge maps and a
random latent per instance. Whatever it draws is therefore a function of shape, coarse
structure and noise, never of the bystander's appearance.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ..config import Config, GeneratorConfig
from ..plugins import BUILTIN, build_plugin


@runtime_checkable
class Generator(Protocol):
    latent_dim: int

    def generate(self, category: str, masks: np.ndarray, edges: np.ndarray, latents: np.ndarray) -> np.ndarray:
        """masks, edges: (N,S,S) uint8 {0,1}; latents: (N, latent_dim) float32 ~ N(0,1).
        Returns (N,S,S,3) uint8 BGR instances (only pixels under the mask are used)."""
        ...


def build_generator(gcfg: GeneratorConfig, cfg: Config, key: str) -> Generator:
    """The generator `gcfg.type` names (plugins.BUILTIN or a plug-in), built as `type(gcfg, cfg)`;
    `key`: where `gcfg` sits in the config (generator, categories.car.generator)."""
    return build_plugin(gcfg.type, f"{key}.type", Generator, gcfg, cfg, builtin=BUILTIN["generator"])
