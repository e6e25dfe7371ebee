"""The three SVIA blocks: protocols, the shipped ONNX implementations, and the builder.

All blocks work at the working resolution on HxWx3 uint8 BGR images; `provider` names where
they run (an onnxruntime provider, or the torch device of the diffusers backend).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Protocol, runtime_checkable

import numpy as np

from ..config import Config, SceneBlockConfig, block_params
from ..onnx_block import load_session
from ..plugins import BUILTIN, build_plugin
from .classes import CATEGORY_NAMES

DEFAULT_MODELS = {
    "segmenter": "svia_segmenter_camvid.onnx",
    "inpainter": "svia_inpainter_camvid.onnx",
    "harmonizer": "svia_harmonizer_camvid.onnx",
}


@runtime_checkable
class Segmenter(Protocol):
    provider: str

    def segment(self, image: np.ndarray) -> np.ndarray:
        """(H,W,3) uint8 BGR -> (11,H,W) float32 class scores (CamVid classes)."""
        ...


@runtime_checkable
class Inpainter(Protocol):
    provider: str

    def inpaint(
        self, image: np.ndarray, masks: np.ndarray, categories: list[str], noise_scale: float, rng: np.random.Generator
    ) -> np.ndarray:
        """image (H,W,3) uint8 BGR, already noised inside the masks; masks (K,H,W) uint8, one
        per category in `categories` -> (K,H,W,3) uint8: plausible content for each region
        (only the pixels inside each mask are used)."""
        ...


@runtime_checkable
class Harmonizer(Protocol):
    provider: str

    def harmonize(self, image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """image (H,W,3) uint8 BGR composite; mask (H,W) uint8 of the synthesized regions ->
        (H,W,3) uint8 with seams and leftover detail smoothed."""
        ...


def _bgr(x: np.ndarray) -> np.ndarray:
    """(N,3,H,W) float in [0,1] -> (N,H,W,3) uint8."""
    return np.clip(x.transpose(0, 2, 3, 1) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _planar(image: np.ndarray) -> np.ndarray:
    """(H,W,3) uint8 -> (1,3,H,W) float32 in [0,1]."""
    return np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0


class _Onnx:
    def __init__(self, kind: str, block: SceneBlockConfig, cfg: Config | None, key: str):
        block_params(block.params, {}, f"{key}.params")
        self.session = load_session(block.model, block.sha256, DEFAULT_MODELS[kind], cfg)
        self.provider = self.session.get_providers()[0]


class OnnxSegmenter(_Onnx):
    def __init__(self, block: SceneBlockConfig, cfg: Config | None = None, key: str = "svia.segmenter"):
        super().__init__("segmenter", block, cfg, key)

    def segment(self, image: np.ndarray) -> np.ndarray:
        (logits,) = self.session.run(None, {"image": _planar(image)})
        return logits[0]


class OnnxInpainter(_Onnx):
    def __init__(self, block: SceneBlockConfig, cfg: Config | None = None, key: str = "svia.inpainter"):
        super().__init__("inpainter", block, cfg, key)

    def inpaint(self, image, masks, categories, noise_scale, rng):
        k = len(categories)
        onehot = np.zeros((k, len(CATEGORY_NAMES)), np.float32)
        onehot[np.arange(k), [CATEGORY_NAMES.index(c) for c in categories]] = 1
        feeds = {
            "image": np.repeat(_planar(image), k, 0),
            "mask": masks[:, None].astype(np.float32),
            "category": onehot,
            "noise": np.full(k, noise_scale / 255.0, np.float32),
        }
        (out,) = self.session.run(None, feeds)
        return _bgr(out)


class OnnxHarmonizer(_Onnx):
    def __init__(self, block: SceneBlockConfig, cfg: Config | None = None, key: str = "svia.harmonizer"):
        super().__init__("harmonizer", block, cfg, key)

    def harmonize(self, image, mask, rng):
        (out,) = self.session.run(None, {"image": _planar(image), "mask": mask[None, None].astype(np.float32)})
        return _bgr(out)[0]


PROTOCOLS = {"segmenter": Segmenter, "inpainter": Inpainter, "harmonizer": Harmonizer}

# What the blocks of one scene replacer share while they are built (the diffusers pipelines
# they loaded, one folder, one load): set by `build_block` around each block's construction.
SHARED: ContextVar[dict | None] = ContextVar("inspire_svia_shared", default=None)


def build_block(kind: str, cfg: Config, loaded: dict | None = None):
    """The configured segmenter, inpainter or harmonizer (`kind`): the type's class from
    plugins.BUILTIN or a plug-in, built as `type(block, cfg)`; `loaded`: the diffusers
    pipelines the caller's other blocks loaded (one folder, one load), seen through SHARED."""
    block: SceneBlockConfig = getattr(cfg.svia, kind)
    token = SHARED.set(loaded)
    try:
        return build_plugin(block.type, f"svia.{kind}.type", PROTOCOLS[kind], block, cfg, builtin=BUILTIN[kind])
    finally:
        SHARED.reset(token)
