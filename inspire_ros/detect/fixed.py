"""A detector plug-in that returns the detections it is given: ground truth or the detections of
another run, so that only the replacement is judged (evaluation, benchmarks, tests)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..types import Detection


class FixedDetector:
    """Returns `detections` for every frame; set them per frame to feed ground truth."""

    provider = "fixed"

    def __init__(self, detections: Iterable[Detection] = ()):
        self.detections: list[Detection] = list(detections)

    def detect(self, frame: np.ndarray) -> list[Detection]:
        return list(self.detections)
