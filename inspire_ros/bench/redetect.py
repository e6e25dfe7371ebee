"""Utility probe: does a detector still find the replaced instances?

Ground-truth instances (CamVid Car/Pedestrian regions, PETS09 person boxes) are replaced
by each method, using the ground-truth boxes as detections so that only the replacement
is judged. A judge detector (YOLOX-nano at 640, score >= 0.3) then runs on the result;
an instance counts as found if a detection of its category overlaps its box at IoU >= 0.5.
"original" is the same judge on the untouched frames.

    .venv/bin/python -m inspire_ros.bench.redetect --dataset camvid-val pets09
"""

from __future__ import annotations

import argparse

import numpy as np

from inspire_ros import config as config_mod
from inspire_ros.boxes import iou
from inspire_ros.config import METHODS
from inspire_ros.datasets import gt_frames as frames
from inspire_ros.detect.fixed import FixedDetector as GroundTruthDetector
from inspire_ros.detect.yolox import YoloxDetector
from inspire_ros.paths import default_config_path
from inspire_ros.pipeline import Anonymizer
from inspire_ros.types import Detection


def found(gt: list[Detection], dets: list[Detection]) -> list[bool]:
    """Per ground-truth instance: a detection of its category overlaps it at IoU >= 0.5."""
    return [any(d.category == g.category and iou(d.box, g.box) >= 0.5 for d in dets) for g in gt]


def build_judge(base: config_mod.Config) -> YoloxDetector:
    """The judge: YOLOX-nano at 640 with `base`'s other detector settings (score >= 0.3)."""
    return YoloxDetector(base.replace(**{"detector.model": "yolox_nano_dynamic.onnx", "detector.input_size": 640}))


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
    judge = build_judge(base)
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
