"""Utility probe: does a detector still find the replaced instances?

Ground-truth instances (CamVid Car/Pedestrian regions, PETS09 person boxes) are replaced
by each method, using the ground-truth boxes as detections so that only the replacement
is judged. A judge detector (YOLOX-nano at 640, score >= 0.3) then runs on the result;
an instance counts as found if a detection of its category overlaps its box at IoU >= 0.5.
"original" is the same judge on the untouched frames.

    .venv/bin/python bench/redetect.py --dataset camvid-val pets09
"""

from __future__ import annotations

import argparse
import glob

import cv2
import numpy as np

from inspire_ros import config as config_mod
from inspire_ros.config import METHODS
from inspire_ros.detect.yolox import YoloxDetector
from inspire_ros.paths import default_config_path, shared_dir
from inspire_ros.pipeline import Anonymizer
from inspire_ros.types import Box, Detection

from mask_iou import camvid_instances  # sibling script in bench/


class GroundTruthDetector:
    """Plug-in detector that returns the boxes set for the current frame."""

    provider = "ground truth"

    def __init__(self):
        self.detections: list[Detection] = []

    def detect(self, frame: np.ndarray) -> list[Detection]:
        return list(self.detections)


def frames(dataset: str, min_area: int, step: int):
    root = shared_dir() / "data"
    if dataset.startswith("camvid-"):
        for path in sorted(glob.glob(str(root / "camvid" / dataset[7:] / "images" / "*.jpg")))[::step]:
            label = cv2.imread(path.replace("images", "labels").replace(".jpg", ".png"), cv2.IMREAD_GRAYSCALE)
            yield cv2.imread(path), [d for d, _ in camvid_instances(label, min_area)]
    elif dataset == "pets09":
        gt: dict[int, list[Detection]] = {}
        for line in open(root / "pets09_s2l1" / "gt_every5.txt"):
            f, _, x, y, w, h, _ = (float(v) for v in line.split(","))
            x0, y0 = max(0, int(x)), max(0, int(y))
            gt.setdefault(int(f), []).append(
                Detection(Box(x0, y0, min(768, int(x + w)), min(576, int(y + h))), "person", 0, 1.0)
            )
        cap = cv2.VideoCapture(str(root / "pets09_s2l1" / "vtest.avi"))
        wanted = sorted(gt)[:: max(1, step)]
        index = 0
        while wanted:
            ok, frame = cap.read()
            if not ok:
                break
            index += 1
            if index == wanted[0]:
                wanted.pop(0)
                yield frame, gt[index]
    else:
        raise SystemExit(f"unknown dataset {dataset}")


def iou(a: Box, b: Box) -> float:
    iw = max(0, min(a.x1, b.x1) - max(a.x0, b.x0))
    ih = max(0, min(a.y1, b.y1) - max(a.y0, b.y0))
    inter = iw * ih
    return inter / (a.area + b.area - inter) if inter else 0.0


def found(gt: list[Detection], dets: list[Detection]) -> list[bool]:
    return [any(d.category == g.category and iou(d.box, g.box) >= 0.5 for d in dets) for g in gt]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", nargs="+", default=["camvid-val", "camvid-test", "pets09"])
    ap.add_argument("--config", default=str(default_config_path()), help="config of the baselines and judge")
    ap.add_argument(
        "--inspire",
        nargs="+",
        default=[f"inspire={default_config_path()}"],
        help="NAME=CONFIG pairs: inspire variants to compare (e.g. weight-free=config/weight_free.yaml)",
    )
    ap.add_argument("--min-area", type=int, default=400)
    ap.add_argument("--step", type=int, default=2, help="use every n-th annotated frame")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    base = config_mod.load(args.config).replace(seed=args.seed)
    judge = YoloxDetector(base.replace(**{"detector.model": "yolox_nano_dynamic.onnx", "detector.input_size": 640}))
    gt_detector = GroundTruthDetector()
    methods = {}
    for pair in args.inspire:
        name, _, path = pair.partition("=")
        methods[name] = Anonymizer(config_mod.load(path).replace(seed=args.seed), detector=gt_detector)
    methods |= {m: Anonymizer(base.replace(method=m), detector=gt_detector) for m in METHODS if m != "inspire"}
    print(f"judge: YOLOX-nano 640, score >= {judge.score_threshold}; hit = same category at IoU >= 0.5")
    names = ["original", *methods]
    print(f"{'dataset':11s} {'category':8s} {'n':>5s} " + " ".join(f"{m:>12s}" for m in names))
    for dataset in args.dataset:
        hits: dict[tuple[str, str], list[bool]] = {}
        for frame, gt in frames(dataset, args.min_area, args.step):
            gt_detector.detections = gt
            results = {"original": frame} | {m: a.anonymize(frame)[0] for m, a in methods.items()}
            for name, image in results.items():
                ok = found(gt, judge.detect(image))
                for g, hit in zip(gt, ok, strict=True):
                    hits.setdefault((name, g.category), []).append(hit)
        for cat in sorted({c for _, c in hits}):
            n = len(hits[("original", cat)])
            row = " ".join(f"{np.mean(hits[(m, cat)]):12.3f}" for m in names)
            print(f"{dataset:11s} {cat:8s} {n:5d} {row}")


if __name__ == "__main__":
    main()
