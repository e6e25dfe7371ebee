"""Detector interface and the box convention shared by all backends."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ..config import Config
from ..plugins import BUILTIN, build_plugin
from ..types import Box, Detection


@runtime_checkable
class Detector(Protocol):
    """frame (HxWx3 uint8 BGR) -> detections of the protected categories only."""

    provider: str  # where inference runs, for logs and diagnostics

    def detect(self, frame: np.ndarray) -> list[Detection]: ...


def finalize_boxes(xyxy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Round down and clip float boxes (N,4) to integer pixel boxes inside the frame."""
    boxes = np.floor(xyxy).astype(np.int64)
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
    return boxes


def to_detections(
    boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, names: dict[int, str], masks=None
) -> list[Detection]:
    out = []
    for i, (b, s, c) in enumerate(zip(boxes, scores, class_ids, strict=True)):
        box = Box(*(int(v) for v in b))
        if box.width < 2 or box.height < 2:  # nothing left to replace after clipping
            continue
        out.append(Detection(box, names[int(c)], int(c), float(s), None if masks is None else masks[i]))
    return out


def build_detector(cfg: Config) -> Detector:
    """The configured backend (a built-in name of plugins.BUILTIN or a plug-in, built as
    `backend(cfg)`: a detector reads both the `detector` and the `runtime` sections, so it gets
    the whole Config where the other blocks get (their block config, Config)), wrapped in
    sliced inference when `detector.tiles` is enabled."""
    detector = build_plugin(cfg.detector.backend, "detector.backend", Detector, cfg, builtin=BUILTIN["detector"])
    if cfg.detector.tiles.enabled:
        from .sliced import SlicedDetector

        # A fixed-input model sees frames up to its own size natively; a fitting one up to input_size.
        full = getattr(detector, "size", cfg.detector.input_size) if getattr(detector, "fit_frame", False) else 0
        detector = SlicedDetector(detector, cfg.detector.tiles, cfg.detector.nms_threshold, full)
    return detector
