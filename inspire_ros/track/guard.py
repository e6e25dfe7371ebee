"""Live temporal guard: one tracker per camera stream.

Each frame's candidates go through the tracker; confident boxes and the low-score boxes a track
confirms are protected, and a track that lost its detection is still replaced at its
predicted, grown box for `coast_frames` frames (a person the detector misses for a frame or
two is not let out). A stamp going backwards, a gap longer than `max_gap_seconds` or a new
frame size starts the tracker over: the old tracks say nothing about the new frames.
"""

from __future__ import annotations

import dataclasses

from ..config import Config
from ..types import Box, Detection
from .receipt import Receipt
from .tracker import Track, Tracker

MAX_GROW = 0.5  # per side: a box never more than doubles (ghosts cost the video its utility)
VISIBLE = 0.25  # a predicted box with less than this share inside the frame has left it


def clip_box(box: Box, width: int, height: int) -> Box | None:
    """The box clipped to the frame; None if (mostly) outside it."""
    b = Box(max(box.x0, 0), max(box.y0, 0), min(box.x1, width), min(box.y1, height))
    if b.width < 2 or b.height < 2 or b.area < VISIBLE * box.area:
        return None
    return b


def predicted(t: Track, grow: float, width: int, height: int, source: str, salt: int) -> Detection | None:
    box = clip_box(t.box(grow), width, height)
    if box is None:
        return None
    return Detection(box, t.category, t.class_id, t.score, source=source, track_id=t.id, stream=salt)


def stamped(d: Detection, width: int, height: int, salt: int) -> Detection | None:
    """`d` inside the frame (a confirmed box may be a union reaching past it), with the salt."""
    box = clip_box(d.box, width, height)
    if box is None:
        return None
    return dataclasses.replace(d, stream=salt) if box == d.box else d.with_box(box, stream=salt)


class TemporalGuard:
    def __init__(self, cfg: Config, salt: int = 0):
        self.cfg = cfg.tracking
        self.tracker = Tracker(cfg.tracking, cfg.detector.score_threshold)
        self.salt = salt
        self.receipt = Receipt()
        self.size: tuple[int, int] | None = None
        self.stamp_ns: int | None = None

    def _check_reset(self, size: tuple[int, int], stamp_ns: int | None) -> None:
        why = None
        if self.size is not None and size != self.size:
            why = "frame size changed"
        elif stamp_ns is not None and self.stamp_ns is not None:
            if stamp_ns < self.stamp_ns:
                why = "stamp went backwards"
            elif stamp_ns - self.stamp_ns > self.cfg.max_gap_seconds * 1e9:
                why = "time gap"
        if why:
            self.tracker.reset()
            self.receipt.resets[why] += 1
        self.size = size
        if stamp_ns is not None:
            self.stamp_ns = stamp_ns

    def update(
        self, candidates: list[Detection], size: tuple[int, int], stamp_ns: int | None = None
    ) -> list[Detection]:
        """`size`: (height, width) of the frame. Returns the detections to replace."""
        self._check_reset(size, stamp_ns)
        height, width = size
        matched, unmatched = self.tracker.step(candidates)
        protected = [stamped(d, width, height, self.salt) for d, _ in matched]
        protected = [d for d in protected if d is not None]
        for t in unmatched:
            if t.lost <= self.cfg.coast_frames:
                # Less sure with every frame without a detection: the box grows with the gap.
                d = predicted(t, min(self.cfg.grow * (1 + t.lost), MAX_GROW), width, height, "coasted", self.salt)
                if d is not None:
                    protected.append(d)
        self.receipt.add(protected)
        return protected
