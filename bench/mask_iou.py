"""Mask quality of the extractors against CamVid ground truth.

Each connected Car (8) / Pedestrian (9) region of at least --min-area pixels is one
instance; its box is the detection, its region the ground-truth mask. Prints mean IoU
and coverage (share of the instance's pixels inside the mask: what is not covered
leaks) per extractor and category, with the full box as reference.

    .venv/bin/python bench/mask_iou.py --split val
"""

from __future__ import annotations

import argparse
import glob
import time

import cv2
import numpy as np

from inspire_ros.config import ExtractorConfig
from inspire_ros.crop import crop_batch, uncrop
from inspire_ros.extract import build_extractor
from inspire_ros.paths import shared_dir
from inspire_ros.types import Box, Detection

CAMVID = {8: "car", 9: "person"}


def camvid_instances(label: np.ndarray, min_area: int):
    for lid, cat in CAMVID.items():
        n, cc, stats, _ = cv2.connectedComponentsWithStats((label == lid).astype(np.uint8))
        for j in range(1, n):
            x, y, w, h, a = stats[j]
            if a >= min_area:
                yield Detection(Box(int(x), int(y), int(x + w), int(y + h)), cat, 0, 1.0), cc[y : y + h, x : x + w] == j


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="val")
    ap.add_argument("--min-area", type=int, default=200)
    ap.add_argument("--extractors", nargs="+", default=["contrast", "grabcut"])
    args = ap.parse_args()
    extractors = {k: build_extractor(ExtractorConfig(type=k), None, k) for k in args.extractors}
    scores = {(k, c): [] for k in [*extractors, "box"] for c in CAMVID.values()}
    seconds = dict.fromkeys(extractors, 0.0)
    for path in sorted(glob.glob(str(shared_dir() / "data" / "camvid" / args.split / "images" / "*.jpg"))):
        image = cv2.imread(path)
        label = cv2.imread(path.replace("images", "labels").replace(".jpg", ".png"), cv2.IMREAD_GRAYSCALE)
        for cat in CAMVID.values():
            pairs = [(d, g) for d, g in camvid_instances(label, args.min_area) if d.category == cat]
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
