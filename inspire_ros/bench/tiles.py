"""Detector recall vs cost per detection setting: input size, fitting the frame, tiles.

Crowded high-resolution frames are made of real ones: four PETS09 S2L1 frames (t, t+200,
t+400, t+600) side by side, 2x2, scaled to 1920x1440 (about 30 people, most 60-150 px tall),
with their MOT ground truth moved along; plus the PETS09 frames as they are (768x576).
Recall: ground-truth persons whose box is at least 80 % covered by the union of detected
person boxes (the leak rule of `inspire coverage`, without tracking or replacement), and
at IoU >= 0.5 with one detection. Cost: detector milliseconds per frame, measured in this run.

    .venv/bin/python -m inspire_ros.bench.tiles [--frames 20] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time

import cv2
import numpy as np

from .. import config as config_mod
from ..boxes import box_mask, iou_matrix
from ..datasets import pets09_gt, video_frames_at
from ..detect import build_detector
from ..paths import pets09_video, shared_dir
from ..types import Box

SCALE = 1.25
OFFSETS = (0, 200, 400, 600)
SETTINGS = {
    "416 square (old default)": {"preset": "none"},
    "fit 640 (live)": {"preset": "live"},
    "fit 960": {"preset": "thorough", "detector": {"tiles": {"enabled": False}}},
    "fit 960 + tiles 640/0.2 (thorough)": {"preset": "thorough"},
    "tiles 640/0.2, no full frame": {"preset": "thorough", "detector": {"tiles": {"full_frame": False}}},
    "fit 960 + tiles 512/0.25": {"preset": "thorough", "detector": {"tiles": {"size": 512, "overlap": 0.25}}},
    "fit 1920 (whole frame, native)": {"preset": "thorough", "detector": {"input_size": 1920}},
}


def frames_and_gt(n: int) -> tuple[list[np.ndarray], list[list[Box]], list[np.ndarray], list[list[Box]]]:
    shared = shared_dir()
    gt = pets09_gt(shared)  # 1-based MOT frame -> GtInstance list
    wanted = [t for t in sorted(gt) if all(t + o in gt for o in OFFSETS)][:: max(1, 40 // max(n, 1))][:n]
    frames = dict(video_frames_at(pets09_video(shared), {t + o - 1 for t in wanted for o in OFFSETS}))
    crowd, crowd_gt, native, native_gt = [], [], [], []
    for t in wanted:
        quads = [frames[t + o - 1] for o in OFFSETS]
        h, w = quads[0].shape[:2]
        mosaic = np.vstack([np.hstack(quads[:2]), np.hstack(quads[2:])])
        crowd.append(cv2.resize(mosaic, (round(2 * w * SCALE), round(2 * h * SCALE))))
        boxes = []
        for q, o in enumerate(OFFSETS):
            dx, dy = (q % 2) * w, (q // 2) * h
            for g in gt[t + o]:
                b = g.box
                boxes.append(Box(*(round(v * SCALE) for v in (b.x0 + dx, b.y0 + dy, b.x1 + dx, b.y1 + dy))))
        crowd_gt.append(boxes)
        native.append(quads[0])
        native_gt.append([g.box for g in gt[t]])
    return crowd, crowd_gt, native, native_gt


def recall(frames, gts, detector) -> tuple[float, float, float]:
    covered = matched = total = 0
    spent = 0.0
    for frame, gt in zip(frames, gts, strict=True):
        t = time.perf_counter()
        dets = [d.box for d in detector.detect(frame) if d.category == "person"]
        spent += time.perf_counter() - t
        union = box_mask(frame.shape, dets)
        for g in gt:
            total += 1
            region = union[max(g.y0, 0) : g.y1, max(g.x0, 0) : g.x1]
            covered += region.size > 0 and region.mean() >= 0.8
        matched += int((iou_matrix(gt, dets).max(1, initial=0.0) >= 0.5).sum())
    return covered / total, matched / total, 1000 * spent / len(frames)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m inspire_ros.bench.tiles", description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=20, help="frames of each kind (default 20)")
    ap.add_argument("--json", help="write the table as JSON")
    args = ap.parse_args(argv)
    crowd, crowd_gt, native, native_gt = frames_and_gt(args.frames)
    print(
        f"{len(crowd)} crowd frames 1920x1440 ({sum(map(len, crowd_gt))} persons), "
        f"{len(native)} PETS09 frames 768x576 ({sum(map(len, native_gt))} persons)"
    )
    rows = []
    for name, data in SETTINGS.items():
        detector = build_detector(config_mod.from_dict(data))
        detector.detect(native[0])  # warm-up
        c_cov, c_iou, c_ms = recall(crowd, crowd_gt, detector)
        n_cov, n_iou, n_ms = recall(native, native_gt, detector)
        passes = getattr(detector, "passes", lambda w, h: 1)
        rows.append(
            {
                "setting": name,
                "crowd_recall_cover": c_cov,
                "crowd_recall_iou": c_iou,
                "crowd_ms": c_ms,
                "crowd_passes": passes(1920, 1440),
                "pets_recall_cover": n_cov,
                "pets_recall_iou": n_iou,
                "pets_ms": n_ms,
            }
        )
    base = rows[0]
    print("| setting | crowd: recall (cover / IoU) | passes | ms | x 416 | PETS09: recall (cover / IoU) | ms | x 416 |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['setting']} | {r['crowd_recall_cover']:.3f} / {r['crowd_recall_iou']:.3f} | {r['crowd_passes']} | "
            f"{r['crowd_ms']:.0f} | {r['crowd_ms'] / base['crowd_ms']:.1f} | {r['pets_recall_cover']:.3f} / "
            f"{r['pets_recall_iou']:.3f} | {r['pets_ms']:.0f} | {r['pets_ms'] / base['pets_ms']:.1f} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
