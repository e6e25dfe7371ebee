"""Extractor interface: CropBatch -> Features (binary masks + edge maps)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..config import Config, ExtractorConfig
from ..plugins import load_plugin
from ..types import CropBatch, Features


@runtime_checkable
class Extractor(Protocol):
    def extract(self, batch: CropBatch) -> Features: ...


def build_extractor(ecfg: ExtractorConfig, cfg: Config, key: str) -> Extractor:
    if ecfg.type == "contrast":
        from .contrast import ContrastExtractor

        return ContrastExtractor(ecfg)
    if ecfg.type == "grabcut":
        from .grabcut import GrabCutExtractor

        return GrabCutExtractor(ecfg)
    if ecfg.type == "detector_masks":
        from .detector_masks import DetectorMaskExtractor

        return DetectorMaskExtractor(ecfg)
    return load_plugin(ecfg.type, f"{key}.type", Extractor)(ecfg, cfg)
