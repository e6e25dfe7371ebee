"""Offline look-ahead: the whole sequence's detections first, then what to replace per frame.

A video or bag is not live: frame t may use what the detector found at t+5. Tracks are linked
over the whole sequence with the live tracker; then every gap between two observations of a
track (up to `tracking.buffer_frames`) is filled by interpolating its boxes, and every track is
extended `lookahead.extend_frames` frames before its first and after its last observation
(moving at its measured speed). Boxes the detector did not see grow by `tracking.grow` times
(1 + frames to the nearest observation) per side: the further from one, the less sure. A person the detector finds in
some frames is so replaced in the frames around and between them too.
"""

from __future__ import annotations

import numpy as np

from ..config import Config
from ..types import Box, Detection
from .guard import MAX_GROW, clip_box, stamped
from .receipt import Receipt
from .tracker import Track, Tracker


def _grown(box: np.ndarray, grow: float) -> Box:
    grow = min(grow, MAX_GROW)
    x0, y0, x1, y1 = box
    gw, gh = (x1 - x0) * grow, (y1 - y0) * grow
    return Box(int(np.floor(x0 - gw)), int(np.floor(y0 - gh)), int(np.ceil(x1 + gw)), int(np.ceil(y1 + gh)))


def _velocity(boxes: list[tuple[int, np.ndarray]]) -> np.ndarray:
    """Per-frame motion of the box centre from up to 5 observations at one end, as a shift of
    (x0, y0, x1, y1). Only the centre moves: the size of a box found at low scores jitters, and
    extrapolating that jitter over several frames would inflate the box without reason."""
    if len(boxes) < 2:
        return np.zeros(4)
    (fa, a), (fb, b) = boxes[0], boxes[-1]
    centre = ((b[:2] + b[2:]) - (a[:2] + a[2:])) / 2 / max(fb - fa, 1)
    return np.r_[centre, centre]


def plan(
    candidates: list[list[Detection] | None], sizes: list[tuple[int, int] | None], cfg: Config, salt: int = 0
) -> tuple[list[list[Detection]], Receipt]:
    """Per frame, what to replace. `candidates[i]`: frame i's detector output (None: the frame
    could not be read; it is blanked anyway and only ages the tracks). `sizes[i]`: (h, w)."""
    n = len(candidates)
    tracker = Tracker(cfg.tracking, cfg.detector.score_threshold)
    tracks: dict[int, Track] = {}
    out: list[list[Detection]] = [[] for _ in range(n)]
    last_size = None
    for i, dets in enumerate(candidates):
        size = sizes[i] or last_size
        if size is not None and last_size is not None and size != last_size:
            tracker.reset()  # a new stream geometry: old tracks say nothing about it
        last_size = size
        matched, _ = tracker.step(dets or [])
        for d, t in matched:
            tracks[t.id] = t
            if size is not None:
                kept = stamped(d, size[1], size[0], salt)
                if kept is not None:
                    out[i].append(kept)
    receipt = Receipt()
    grow, extend = cfg.tracking.grow, cfg.lookahead.extend_frames if cfg.lookahead.enabled else 0

    def add(frame: int, box: Box, t: Track, source: str) -> None:
        # Never into frames of another geometry (the tracker was reset there).
        if not 0 <= frame < n or sizes[frame] is None or sizes[frame] != sizes[t.history[-1][0]]:
            return
        h, w = sizes[frame]
        clipped = clip_box(box, w, h)
        if clipped is not None:
            out[frame].append(
                Detection(clipped, t.category, t.class_id, t.score, source=source, track_id=t.id, stream=salt)
            )

    for t in tracks.values():
        obs = [(f, np.array(b.as_list(), np.float64)) for f, b, _ in t.history]
        for (fa, a), (fb, b) in zip(obs, obs[1:], strict=False):
            if fb - fa > 1:
                receipt.gaps_filled.append(fb - fa - 1)
                for f in range(fa + 1, fb):
                    # Less sure the further from an observation: grow with that distance.
                    near = min(f - fa, fb - f)
                    add(f, _grown(a + (b - a) * (f - fa) / (fb - fa), grow * (1 + near)), t, "filled")
        v0, v1 = _velocity(obs[:5]), _velocity(obs[-5:])
        (f0, b0), (f1, b1) = obs[0], obs[-1]
        for k in range(1, extend + 1):
            add(f0 - k, _grown(b0 - v0 * k, grow * (1 + k)), t, "extended")
            add(f1 + k, _grown(b1 + v1 * k, grow * (1 + k)), t, "extended")
    for frame in out:
        receipt.add(frame)
    return out, receipt
