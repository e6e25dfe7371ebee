"""YOLOX ONNX detector (COCO-80): letterbox, grid decode, per-class NMS.

Model contract (see models/manifest.yaml): input ``images`` 1x3xHxW float32 BGR 0-255,
letterboxed at the top-left with 114; output [1, N, 85] with sigmoided obj/class scores.
A model with a fixed input runs at that size; one with a symbolic H/W runs at `input_size`
(square), or with `fit_frame` at the frame's own aspect ratio and size (multiples of 32, the
longest side at most `input_size`): a 768x576 frame is not squeezed into a 416 square.
"""

from __future__ import annotations

import cv2
import numpy as np

from .. import model_store
from ..coco import CLASS_ID, COCO_CLASSES
from ..config import Config, ConfigError
from ..onnx_session import active_provider, create_session
from ..types import Detection
from .base import finalize_boxes, to_detections

STRIDES = (8, 16, 32)


def make_grids(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    grids, strides = [], []
    for s in STRIDES:
        gh, gw = height // s, width // s
        ys, xs = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
        grids.append(np.stack([xs, ys], -1).reshape(-1, 2))
        strides.append(np.full((gh * gw, 1), s))
    return np.concatenate(grids).astype(np.float32), np.concatenate(strides).astype(np.float32)


def _ceil32(x: float) -> int:
    return max(32, int(np.ceil(x / 32.0)) * 32)


class YoloxDetector:
    def __init__(self, cfg: Config):
        dc = cfg.detector
        self.path = model_store.resolve(dc.model, dc.sha256)
        self.session = create_session(self.path, cfg.runtime.providers, cfg.runtime.threads)
        self.provider = active_provider(self.session)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        fixed = [d for d in inp.shape[2:] if isinstance(d, int)]
        self.dynamic = len(fixed) != 2
        self.size = dc.input_size if self.dynamic else fixed[0]
        if self.size % 32:
            raise ConfigError(f"config key 'detector.input_size': must be a multiple of 32, got {self.size}")
        self.fit_frame = dc.fit_frame and self.dynamic
        self.score_threshold = dc.score_threshold
        self.nms_threshold = dc.nms_threshold
        self.class_ids = np.array(sorted(CLASS_ID[c] for c in cfg.categories))
        self.names = {i: COCO_CLASSES[i] for i in self.class_ids}
        # Per input shape (a live camera has one; tiles and full frames two or three).
        self._grids: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._blobs: dict[tuple[int, int], np.ndarray] = {}

    def input_shape(self, height: int, width: int) -> tuple[int, int]:
        """(H, W) of the network input for a frame of this size."""
        if not self.fit_frame:
            return self.size, self.size
        r = min(1.0, self.size / max(height, width))
        return min(_ceil32(height * r), self.size), min(_ceil32(width * r), self.size)

    def preprocess(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        h, w = frame.shape[:2]
        ih, iw = self.input_shape(h, w)
        blob = self._blobs.get((ih, iw))
        if blob is None:
            blob = self._blobs[(ih, iw)] = np.empty((1, 3, ih, iw), np.float32)
        r = min(ih / h, iw / w)
        nh, nw = min(ih, max(1, int(h * r))), min(iw, max(1, int(w * r)))
        resized = frame if (nh, nw) == (h, w) else cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_LINEAR)
        blob.fill(114.0)
        blob[0, :, :nh, :nw] = resized.transpose(2, 0, 1)
        return blob, r

    def detect(self, frame: np.ndarray) -> list[Detection]:
        blob, r = self.preprocess(frame)
        (out,) = self.session.run(None, {self.input_name: blob})
        shape = blob.shape[2:]
        if shape not in self._grids:
            self._grids[shape] = make_grids(*shape)
        return self.postprocess(out[0], r, frame.shape[1], frame.shape[0], *self._grids[shape])

    def postprocess(
        self, pred: np.ndarray, r: float, width: int, height: int, grids: np.ndarray, strides: np.ndarray
    ) -> list[Detection]:
        # Only protected classes matter: score them first, decode geometry only for survivors.
        scores_all = pred[:, 4:5] * pred[:, 5 + self.class_ids]
        best = scores_all.argmax(1)
        scores = scores_all[np.arange(len(best)), best]
        keep = scores >= self.score_threshold
        if not keep.any():
            return []
        p, g, s = pred[keep], grids[keep], strides[keep]
        xy = (p[:, :2] + g) * s
        wh = np.exp(p[:, 2:4]) * s
        xyxy = np.concatenate([xy - wh / 2, xy + wh / 2], 1) / r
        scores, cls = scores[keep], self.class_ids[best[keep]]
        xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], 1)
        idx = cv2.dnn.NMSBoxesBatched(
            xywh.tolist(), scores.tolist(), cls.tolist(), self.score_threshold, self.nms_threshold
        )
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        boxes = finalize_boxes(xyxy[idx], width, height)
        return to_detections(boxes, scores[idx], cls[idx], self.names)
