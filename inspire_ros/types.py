"""Typed records that flow between the pipeline stages.

Frames are HxWx3 uint8 BGR (OpenCV order) throughout the core; the ROS and bag shells
convert other encodings at their edge.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum

import numpy as np


class FrameStatus(str, Enum):
    """What became of one frame (a camera message, a video frame, an image) on its way out.

    str-valued: the node, the bag tool and the CLI write these strings into their reports,
    journals and audits, and a status read back from one compares equal to its member."""

    UNCHANGED = "unchanged"  # nothing to replace and every byte read: the input passes as is
    ANONYMIZED = "anonymized"  # instances replaced (or only cleaned of padding/metadata: scrubbed)
    BLANKED = "blanked"  # failed: a black frame of the same size and encoding instead
    DROPPED = "dropped"  # failed (or refused): no output frame
    INVALIDATED = "invalidated"  # bag tool: a depth frame without a colour pair, invalidated whole
    OK = "ok"  # CLI audit (inspire anonymize): anonymized, or nothing to replace

    def __str__(self) -> str:  # the value in messages and f-strings, on every Python version
        return self.value


@dataclass(frozen=True)
class Box:
    """Integer pixel box, half-open: columns x0..x1-1, rows y0..y1-1."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return self.width * self.height

    def as_list(self) -> list[int]:
        return [self.x0, self.y0, self.x1, self.y1]


@dataclass(frozen=True)
class Detection:
    """One detected object of a protected category."""

    box: Box
    category: str
    class_id: int
    score: float
    # Optional instance mask (box-sized, bool) from a segmenting detector.
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)
    # Why it is replaced: detected (score >= threshold), confirmed (a low-score box a track
    # confirms), coasted (live: predicted where a track lost its detection), filled (offline:
    # between two detections of a track), extended (offline: before/after a track's ends).
    source: str = "detected"
    track_id: int | None = None
    # Per-stream salt: with per-track latents, (stream, track_id) picks the latent.
    stream: int = 0

    def with_box(self, box: Box, **changes) -> Detection:
        return dataclasses.replace(self, box=box, mask=None, **changes)


@dataclass(frozen=True)
class CropGeometry:
    """Where a box's pixels sit inside its square crop (for pasting back)."""

    box: Box
    offset_x: int  # left edge of the box content inside the SxS crop
    offset_y: int
    width: int  # box content size inside the crop
    height: int


@dataclass
class CropBatch:
    """All instances of one category, cropped, padded square and resized to `size`."""

    category: str
    size: int
    detections: list[Detection]
    images: np.ndarray  # (N, S, S, 3) uint8, zero outside the box content
    valid: np.ndarray  # (N, S, S) bool, True where the crop holds box content
    geometry: list[CropGeometry]

    def __len__(self) -> int:
        return len(self.detections)


@dataclass
class Features:
    """Extractor output for a CropBatch."""

    masks: np.ndarray  # (N, S, S) uint8 in {0, 1}
    edges: np.ndarray  # (N, S, S) uint8 in {0, 1}


@dataclass(frozen=True)
class Instance:
    """What was replaced in a frame: the audit record of one instance."""

    category: str
    box: Box
    score: float
    mask_area: int  # pixels actually replaced in the output frame
    # Box-sized bool mask of the replaced pixels (the whole box for the baselines).
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)
    source: str = "detected"  # see Detection.source
    track_id: int | None = None

    @classmethod
    def of(cls, d: Detection, box: Box, mask_area: int, mask: np.ndarray | None) -> Instance:
        return cls(d.category, box, d.score, mask_area, mask, d.source, d.track_id)

    def to_dict(self) -> dict:
        out = {
            "category": self.category,
            "box": self.box.as_list(),
            "score": round(float(self.score), 4),
            "mask_area": int(self.mask_area),
        }
        if self.source != "detected":
            out["source"] = self.source
        if self.track_id is not None:
            out["track"] = self.track_id
        return out
