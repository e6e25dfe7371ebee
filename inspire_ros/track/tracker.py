"""A ByteTrack-style multi-object tracker for coverage, not for identities.

Why our own and not a tracker library: what privacy needs from a tracker is what trackers
usually hide. We need (1) the predicted box of a track that lost its detection (to keep
replacing there) and (2) which low-score boxes a track confirms; `trackers`/`supervision`
return only matched tracks and pull in opencv-python, matplotlib and scipy, which the
in-vehicle runtime (numpy + OpenCV + onnxruntime) does not carry. The algorithm is ByteTrack's:
a constant-velocity Kalman filter per track on (cx, cy, w, h); confident boxes are associated
first with every live track, low-score boxes second with the tracks still unmatched; an
unmatched confident box starts a track; a track unmatched for more than `buffer_frames` ends.
Association is greedy on IoU within one category (deterministic, no scipy).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..boxes import iou_matrix, union
from ..config import TrackingConfig
from ..types import Box, Detection

# Process/measurement noise relative to the box size (ByteTrack's weights).
STD_POS, STD_VEL = 1.0 / 20, 1.0 / 160

_F = np.eye(8)
_F[:4, 4:] = np.eye(4)
_H = np.eye(4, 8)


@dataclass
class Track:
    id: int
    category: str
    class_id: int
    mean: np.ndarray  # (8,) cx, cy, w, h and their velocities per frame
    cov: np.ndarray  # (8, 8)
    score: float
    hits: int = 1
    lost: int = 0  # frames since the last match
    history: list[tuple[int, Box, str]] = field(default_factory=list)  # (frame, box, source) when observed

    def box(self, grow: float = 0.0) -> Box:
        cx, cy, w, h = self.mean[:4]
        w, h = max(w, 1.0) * (1 + 2 * grow), max(h, 1.0) * (1 + 2 * grow)
        return Box(
            int(np.floor(cx - w / 2)), int(np.floor(cy - h / 2)), int(np.ceil(cx + w / 2)), int(np.ceil(cy + h / 2))
        )


def _xywh(b: Box) -> np.ndarray:
    return np.array([(b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2, b.width, b.height], np.float64)


def greedy_match(scores: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Pairs (row, col) by descending score, each row and column once, score >= threshold."""
    pairs = []
    if scores.size == 0:
        return pairs
    order = np.argsort(-scores, axis=None, kind="stable")
    used_r, used_c = set(), set()
    for flat in order:
        r, c = divmod(int(flat), scores.shape[1])
        if scores[r, c] < threshold:
            break
        if r in used_r or c in used_c:
            continue
        used_r.add(r)
        used_c.add(c)
        pairs.append((r, c))
    return pairs


class Tracker:
    """Tracks of one stream. `step` takes a frame's candidates and says, per candidate, whether
    a track confirms it, and which tracks went unmatched."""

    def __init__(self, cfg: TrackingConfig, score_threshold: float):
        self.cfg = cfg
        self.score_threshold = score_threshold
        self.tracks: list[Track] = []
        self.next_id = 1
        self.frame = -1

    def reset(self) -> None:
        """Forget every track; frame numbers go on (they index the stream, not the tracks)."""
        self.tracks = []

    def _predict(self, t: Track) -> None:
        h = max(t.mean[3], 1.0)
        q = np.square(np.r_[[STD_POS * h] * 4, [STD_VEL * h] * 4])
        t.mean = _F @ t.mean
        t.mean[2:4] = np.maximum(t.mean[2:4], 1.0)
        t.cov = _F @ t.cov @ _F.T + np.diag(q)

    def _update(self, t: Track, b: Box) -> None:
        h = max(t.mean[3], 1.0)
        r = np.diag(np.square([STD_POS * h] * 4))
        s = _H @ t.cov @ _H.T + r
        k = np.linalg.solve(s, (t.cov @ _H.T).T).T
        t.mean = t.mean + k @ (_xywh(b) - _H @ t.mean)
        t.cov = (np.eye(8) - k @ _H) @ t.cov

    def _new(self, d: Detection) -> Track:
        h = max(d.box.height, 1)
        cov = np.diag(np.square(np.r_[[2 * STD_POS * h] * 4, [10 * STD_VEL * h] * 4]))
        t = Track(self.next_id, d.category, d.class_id, np.r_[_xywh(d.box), np.zeros(4)], cov, d.score)
        self.next_id += 1
        self.tracks.append(t)
        return t

    def step(self, candidates: list[Detection]) -> tuple[list[tuple[Detection, Track]], list[Track]]:
        """Advance one frame. Returns the candidates to protect (every confident box, and the
        low-score boxes a track confirms), each with its track, and the live tracks left
        without a box this frame (their `lost` counts up). Other low-score boxes are dropped."""
        self.frame += 1
        for t in self.tracks:
            self._predict(t)
        high = [d for d in candidates if d.score >= self.score_threshold]
        low = [d for d in candidates if d.score < self.score_threshold]
        out: list[tuple[Detection, Track]] = []
        free = list(self.tracks)
        for dets, thr, source in ((high, self.cfg.match_iou, "detected"), (low, self.cfg.low_match_iou, "confirmed")):
            ious = iou_matrix([t.box() for t in free], [d.box for d in dets])
            same = np.array([[t.class_id == d.class_id for d in dets] for t in free], bool).reshape(ious.shape)
            pairs = greedy_match(np.where(same, ious, 0.0), thr)
            for ti, di in pairs:
                t, d = free[ti], dets[di]
                if source == "confirmed":
                    # A low-score box is less sure of its extent: protect the union with the prediction.
                    d = d.with_box(union(d.box, t.box()), source=source)
                self._update(t, d.box)
                t.score, t.hits, t.lost = d.score, t.hits + 1, 0
                t.history.append((self.frame, d.box, source))
                out.append((d, t))
            if source == "detected":
                matched = {di for _, di in pairs}
                for di, d in enumerate(dets):
                    if di not in matched:
                        t = self._new(d)
                        t.history.append((self.frame, d.box, source))
                        out.append((d, t))
            taken = {ti for ti, _ in pairs}
            free = [t for i, t in enumerate(free) if i not in taken]
        for t in free:
            t.lost += 1
        self.tracks = [t for t in self.tracks if t.lost <= self.cfg.buffer_frames]
        return [(dataclasses.replace(d, track_id=t.id), t) for d, t in out], [t for t in free if t in self.tracks]
