"""The scene classes SVIA works with.

The shipped segmenter predicts CamVid's 11 classes. SVIA's categories are named groups of
them: the paper's five (person, vehicle, traffic_sign, road, building) and the rest of the
scene, which a config may add for more location privacy.
"""

from __future__ import annotations

import numpy as np

# Index = the segmenter's output channel (CamVid label ids; 11 = unlabelled, not predicted).
CAMVID_CLASSES = (
    "sky",
    "building",
    "pole",
    "road",
    "pavement",
    "tree",
    "sign",
    "fence",
    "car",
    "pedestrian",
    "bicyclist",
)
UNLABELLED = 11

# Category -> segmenter classes. The inpainter is conditioned on the category's position here.
CATEGORIES: dict[str, tuple[int, ...]] = {
    "person": (9, 10),
    "vehicle": (8,),
    "traffic_sign": (6,),
    "road": (3,),
    "building": (1,),
    "sky": (0,),
    "pole": (2,),
    "pavement": (4,),
    "tree": (5,),
    "fence": (7,),
}
CATEGORY_NAMES = tuple(CATEGORIES)
PAPER_CATEGORIES = ("person", "vehicle", "traffic_sign", "road", "building")
# What INSPIRE's instance replacement already covers in the hybrid method.
INSTANCE_CATEGORIES = ("person", "vehicle")

# Detector (COCO) categories whose boxes also count as an SVIA category's pixels.
DETECTOR_TO_CATEGORY = {
    "person": "person",
    "bicycle": "person",
    "motorcycle": "person",
    "car": "vehicle",
    "bus": "vehicle",
    "truck": "vehicle",
    "train": "vehicle",
    "stop sign": "traffic_sign",
    "traffic light": "traffic_sign",
}

DEFAULT_PROMPTS = {
    "person": "a pedestrian walking on the street",
    "vehicle": "a car on the road",
    "traffic_sign": "a traffic sign",
    "road": "an asphalt road surface",
    "building": "the facade of a building",
    "sky": "a cloudy sky",
    "pole": "a street pole",
    "pavement": "a concrete sidewalk",
    "tree": "a tree",
    "fence": "a fence",
}


def category_index(name: str) -> int:
    return CATEGORY_NAMES.index(name)


def confusion(pred: np.ndarray, true: np.ndarray, k: int = len(CAMVID_CLASSES)) -> np.ndarray:
    """k x k pixel counts of two label maps (rows: label, columns: prediction), unlabelled
    pixels left out."""
    keep = true != UNLABELLED
    t, p = true[keep].astype(np.int64), pred[keep].astype(np.int64)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def miou(conf: np.ndarray) -> dict[str, float]:
    """mIoU, pixel accuracy and per-class IoU (classes seen in labels or predictions)."""
    inter = np.diag(conf).astype(float)
    union = conf.sum(0) + conf.sum(1) - inter
    per = {c: float(inter[i] / union[i]) for i, c in enumerate(CAMVID_CLASSES) if union[i] > 0}
    return {"miou": float(np.mean(list(per.values()))), "pixel_acc": float(inter.sum() / max(1, conf.sum())), **per}
