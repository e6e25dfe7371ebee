"""SVIA on one frame: segment -> Laplace noise -> inpaint per category -> harmonize -> paste.

Everything runs at the working resolution (`svia.width` x `svia.height`); the synthesized
regions are scaled back to the frame and written only inside the category masks (frame
resolution), so with `harmonize: regions` every other pixel is bit-identical to the input.
Inside the masks no original pixel is copied: the inpainter sees the region only through the
Laplace noise, and what is pasted is the inpainter's (harmonized) output.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..config import Config
from ..types import Box, Detection, Instance
from .blocks import build_block
from .classes import CAMVID_CLASSES, CATEGORIES, DETECTOR_TO_CATEGORY
from .noise import laplace_noise

# Later categories are pasted over earlier ones where masks overlap (a detector box of a
# person over the road): background first, the things in front of it last.
PASTE_ORDER = ("sky", "building", "road", "pavement", "tree", "fence", "pole", "traffic_sign", "vehicle", "person")


class SceneReplacement:
    """The SVIA replacer for `categories` (names from svia.classes)."""

    def __init__(self, cfg: Config, categories: list[str], blocks: dict | None = None):
        self.cfg, self.svia = cfg, cfg.svia
        self.categories = [c for c in PASTE_ORDER if c in categories]
        blocks = dict(blocks or {})
        kinds = ["segmenter", "inpainter"] + ([] if self.svia.harmonize == "off" else ["harmonizer"])
        loaded: dict = {}  # diffusers pipelines shared by the blocks of this replacer
        for kind in kinds:
            if kind not in blocks:
                blocks[kind] = build_block(kind, cfg, loaded)
        self.blocks = blocks
        self.segmenter, self.inpainter = blocks["segmenter"], blocks["inpainter"]
        self.harmonizer = blocks.get("harmonizer") if self.svia.harmonize != "off" else None

    @property
    def size(self) -> tuple[int, int]:
        return self.svia.width, self.svia.height

    def labels(self, frame: np.ndarray) -> np.ndarray:
        """(H,W) uint8 CamVid class per frame pixel: the segmenter at the working resolution,
        its scores scaled to the frame (smooth borders), then argmax."""
        small = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        scores = np.asarray(self.segmenter.segment(small), np.float32)
        want = (len(CAMVID_CLASSES), self.size[1], self.size[0])
        if scores.shape != want:
            raise RuntimeError(f"segmenter returned {scores.shape}, not {want}")
        h, w = frame.shape[:2]
        up = cv2.resize(np.ascontiguousarray(scores.transpose(1, 2, 0)), (w, h), interpolation=cv2.INTER_LINEAR)
        return up.argmax(2).astype(np.uint8)

    def masks(
        self, frame: np.ndarray, detections: list[Detection], labels: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Category -> (H,W) bool mask at frame resolution, grown by `mask_dilation`.
        `labels`: the frame's `labels()` when the caller has them already."""
        labels = self.labels(frame) if labels is None else labels
        h, w = frame.shape[:2]
        out = {c: np.isin(labels, CATEGORIES[c]) for c in self.categories}
        if self.svia.use_detections:
            for d in detections:
                c = DETECTOR_TO_CATEGORY.get(d.category)
                if c in out:
                    b = d.box
                    region = out[c][b.y0 : b.y1, b.x0 : b.x1]
                    region |= d.mask if d.mask is not None and d.mask.shape == region.shape else True
        grow = int(round(self.svia.mask_dilation * max(w / self.size[0], h / self.size[1])))
        if grow:
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
            out = {c: cv2.dilate(m.astype(np.uint8), kernel).astype(bool) for c, m in out.items()}
        return {c: m for c, m in out.items() if m.any()}

    def replace(
        self, frame: np.ndarray, out: np.ndarray, detections: list[Detection], rng: np.random.Generator, clock=None
    ):
        """Write the synthesized scene regions of `frame` into `out`; the replaced regions as
        audit records (one per category, source "segmented")."""
        masks = self.masks(frame, detections)
        if not masks:
            return []
        present = [c for c in self.categories if c in masks]
        small = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        # A working pixel belongs to a region if any frame pixel under it does.
        small_masks = np.stack(
            [(cv2.resize(masks[c].astype(np.float32), self.size, interpolation=cv2.INTER_AREA) > 0) for c in present]
        ).astype(np.uint8)
        union_small = small_masks.max(0)
        b = self.svia.noise_scale
        noisy = laplace_noise(small, union_small, b, rng)
        fills = np.asarray(self.inpainter.inpaint(noisy, small_masks, present, b, rng))
        want = (len(present), self.size[1], self.size[0], 3)
        if fills.shape != want or fills.dtype != np.uint8:
            raise RuntimeError(f"inpainter returned {fills.shape} {fills.dtype}, not {want} uint8")
        composite = noisy.copy()
        for k in range(len(present)):  # PASTE_ORDER: things in front win
            where = small_masks[k].astype(bool)
            composite[where] = fills[k][where]
        result = composite
        if self.harmonizer is not None:
            result = np.asarray(self.harmonizer.harmonize(composite, union_small, rng))
            if result.shape != composite.shape or result.dtype != np.uint8:
                raise RuntimeError(f"harmonizer returned {result.shape} {result.dtype}, not {composite.shape} uint8")
        h, w = frame.shape[:2]
        union = np.zeros((h, w), bool)
        for c in present:
            union |= masks[c]
        synthesized = cv2.resize(result, (w, h), interpolation=cv2.INTER_LINEAR)
        if self.harmonizer is not None and self.svia.harmonize == "image":
            # The harmonizer's change outside the regions, at frame resolution: the frame keeps
            # its own detail and gets the (low-resolution) correction on top.
            delta = result.astype(np.int16) - composite.astype(np.int16)
            delta = cv2.resize(delta.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
            out[:] = np.clip(out.astype(np.float32) + delta, 0, 255).astype(np.uint8)
        out[union] = synthesized[union]
        return [_instance(c, masks[c]) for c in present]


def _instance(category: str, mask: np.ndarray) -> Instance:
    ys, xs = np.nonzero(mask)
    box = Box(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    crop = mask[box.y0 : box.y1, box.x0 : box.x1]
    return Instance(category, box, 1.0, int(crop.sum()), crop.copy(), source="segmented")
