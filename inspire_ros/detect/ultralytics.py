"""Ultralytics YOLO backend (optional extra: pip install 'inspire_ros[ultralytics]').

Runs .pt and exported .onnx YOLO models, detection or segmentation. A -seg model's
instance masks ride along on each Detection, where the `detector_masks` extractor can use
them in place of a mask extractor.
"""

from __future__ import annotations

import os

import numpy as np

from .. import model_store
from ..coco import CLASS_ID, COCO_CLASSES
from ..config import Config, ConfigError, block_params
from ..types import Detection
from .base import finalize_boxes, to_detections


def _class_names(names: dict[int, str]) -> list[str]:
    # Models built from a yaml without a dataset are named "0".."79": COCO order by convention.
    if len(names) == len(COCO_CLASSES) and all(str(v).isdigit() for v in names.values()):
        return list(COCO_CLASSES)
    return [str(names[i]) for i in sorted(names)]


class UltralyticsDetector:
    def __init__(self, cfg: Config):
        os.environ.setdefault("YOLO_OFFLINE", "1")  # never reach for the hub from a vehicle
        try:
            from ultralytics import YOLO
        except ImportError as e:
            raise ConfigError(
                "config key 'detector.backend': 'ultralytics' needs the optional extra: "
                "pip install 'inspire_ros[ultralytics]'"
            ) from e
        dc = cfg.detector
        path = model_store.resolve(dc.model, dc.sha256)
        params = block_params(dc.params, {"task": None}, "detector.params")
        self.model = YOLO(str(path), task=params["task"])
        names = _class_names(self.model.names)
        missing = [c for c in cfg.categories if c not in names]
        if missing:
            raise ConfigError(f"config key 'categories': model {path.name} has no class {', '.join(missing)}")
        self.class_ids = [names.index(c) for c in cfg.categories]
        # Detections carry COCO ids, whatever the model's own class order.
        self.to_coco = {names.index(c): CLASS_ID[c] for c in cfg.categories}
        self.names = {CLASS_ID[c]: c for c in cfg.categories}
        self.size, self.conf, self.iou = dc.input_size, dc.score_threshold, dc.nms_threshold
        self.device = "cpu"
        if "cuda" in cfg.runtime.providers or "tensorrt" in cfg.runtime.providers:
            import torch

            self.device = "cuda:0" if torch.cuda.is_available() else "cpu"
        self.provider = f"ultralytics ({self.device})"

    def detect(self, frame: np.ndarray) -> list[Detection]:
        result = self.model.predict(
            frame,
            imgsz=self.size,
            conf=self.conf,
            iou=self.iou,
            classes=self.class_ids,
            retina_masks=True,  # masks at frame resolution
            device=self.device,
            verbose=False,
        )[0]
        h, w = frame.shape[:2]
        if len(result.boxes) == 0:
            return []
        boxes = finalize_boxes(result.boxes.xyxy.cpu().numpy().astype(np.float64), w, h)
        scores = result.boxes.conf.cpu().numpy()
        classes = np.array([self.to_coco[int(c)] for c in result.boxes.cls.cpu().numpy()])
        masks = None
        if result.masks is not None:
            full = result.masks.data.cpu().numpy() > 0.5
            masks = [full[i, b[1] : b[3], b[0] : b[2]] for i, b in enumerate(boxes)]
        return to_detections(boxes, scores, classes, self.names, masks)
