"""Extractor interface: CropBatch -> Features (binary masks + edge maps)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ..config import Config, ExtractorConfig, block_params
from ..plugins import BUILTIN, build_plugin
from ..types import CropBatch, Features
from .edges import edge_maps


@runtime_checkable
class Extractor(Protocol):
    def extract(self, batch: CropBatch) -> Features: ...


class MaskExtractor:
    """Base of the built-in extractors: subclasses compute masks, edges are shared."""

    DEFAULTS: dict = {}

    def __init__(self, cfg: ExtractorConfig, full: Config | None = None):
        self.cfg = cfg
        self.p = block_params(cfg.params, self.DEFAULTS, "extractor.params")

    def masks(self, batch: CropBatch) -> np.ndarray:
        raise NotImplementedError

    def extract(self, batch: CropBatch) -> Features:
        return Features(self.masks(batch), edge_maps(batch.images, batch.valid, self.cfg.edges))


def build_extractor(ecfg: ExtractorConfig, cfg: Config, key: str) -> Extractor:
    """The extractor `ecfg.type` names (plugins.BUILTIN or a plug-in), built as `type(ecfg, cfg)`;
    `key`: where `ecfg` sits in the config (extractor, categories.person.extractor)."""
    return build_plugin(ecfg.type, f"{key}.type", Extractor, ecfg, cfg, builtin=BUILTIN["extractor"])
