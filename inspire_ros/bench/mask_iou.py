"""Mask quality of the extractors against CamVid ground truth.

Each connected Car (8) / Pedestrian (9) region of at least --min-area pixels is one
instance; its box is the detection, its region the ground-truth mask. Prints mean IoU
and coverage (share of the instance's pixels inside the mask: what is not covered
leaks) per extractor and category, with the full box as reference.

    .venv/bin/python -m inspire_ros.bench.mask_iou --split val
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from ..config import ExtractorConfig
from ..crop import crop_batch, uncrop
from ..datasets import CAMVID_LABELS, camvid_instances, camvid_labelled
from ..extract import build_extractor
from ..paths import shared_dir


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m inspire_ros.bench.mask_iou", description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="val")
    ap.add_argument("--min-area", type=int, default=200)
    ap.add_argument("--extractors", nargs="+", default=["contrast", "grabcut"])
    args = ap.parse_args(argv)
    extractors = {k: build_extractor(ExtractorConfig(type=k), None, k) for k in args.extractors}
    scores = {(k, c): [] for k in [*extractors, "box"] for c in CAMVID_LABELS.values()}
    seconds = dict.fromkeys(extractors, 0.0)
    for _, image, label in camvid_labelled(shared_dir(), args.split):
        instances = camvid_instances(label, args.min_area)
        for cat in CAMVID_LABELS.values():
            pairs = [(g.detection(), g.mask) for g in instances if g.category == cat]
            if not pairs:
                continue
            batch = crop_batch(image, cat, [d for d, _ in pairs], 64)
            for name, ex in extractors.items():
                t = time.perf_counter()
                masks = ex.extract(batch).masks
                seconds[name] += time.perf_counter() - t
                for i, (_, gt) in enumerate(pairs):
                    m = uncrop(masks[i].astype(np.float32), batch.geometry[i], cv2.INTER_LINEAR) >= 0.5
                    scores[(name, cat)].append(((m & gt).sum() / (m | gt).sum(), (m & gt).sum() / gt.sum()))
            scores[("box", cat)] += [(gt.mean(), 1.0) for _, gt in pairs]
    print(f"CamVid {args.split}, instances >= {args.min_area} px")
    print(f"{'extractor':10s} {'category':8s} {'n':>5s} {'IoU':>6s} {'coverage':>9s}")
    for (name, cat), v in scores.items():
        iou, cov = np.array(v).mean(0)
        print(f"{name:10s} {cat:8s} {len(v):5d} {iou:6.3f} {cov:9.3f}")
    n = sum(len(v) for (k, _), v in scores.items() if k == "box")
    for name, s in seconds.items():
        print(f"{name}: {s / n * 1000:.2f} ms per instance (batched per frame and category)")


if __name__ == "__main__":
    main()
