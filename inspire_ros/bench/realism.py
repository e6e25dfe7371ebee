"""Realism and utility of the replaced instances, per category and size, on held-out frames.

Ground-truth instances are replaced by each variant (a config), with the ground-truth boxes
as its detections so that only the replacement is judged (no detector misses):
- CamVid test (the held-out sequence; never used for training or model selection):
  Car / Pedestrian regions of at least `--min-area` pixels;
- PETS09 S2L1 person boxes (never used for training either).
Per (dataset, category, size) it prints:
- Fréchet and kernel distances (ImageNet MobileNetV2 features, as `inspire eval`) between the
  original and the replaced box crops: lower is more like the real thing;
- judge recall: a YOLOX-nano 640 judge (score >= 0.3) finds an instance if one of its
  detections of that category overlaps the box at IoU >= 0.5; on the originals and on each
  variant's output, and the variant/original ratio.
Sizes follow the pipeline's crop-size rule at its defaults: small (longer box side <= 64 px:
a 64 crop, no upscaling), medium (65-128: a 64 crop, up to 2x), large (> 128: a 128 crop
where the config enables it). Fréchet distances of small groups are biased upwards (few
samples in 1280 dimensions): compare variants within a row, not rows with each other.

`--grid` writes a picture: for large and small, light and dark instances, the original crop
then each variant's replacement.

    .venv/bin/python -m inspire_ros.bench.realism --variants old=.cache/old/old.yaml new=config/default.yaml \
        --grid docs/replacements.png --json .cache/realism.json
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from inspire_ros import config as config_mod
from inspire_ros import datasets
from inspire_ros.bench.redetect import build_judge, found
from inspire_ros.detect.fixed import FixedDetector
from inspire_ros.eval import quality, reid
from inspire_ros.paths import default_config_path, shared_dir
from inspire_ros.pipeline import Anonymizer


def size_bucket(box) -> str:
    side = max(box.width, box.height)
    return "small" if side <= 64 else "medium" if side <= 128 else "large"


def samples(step: int, min_area: int) -> list[datasets.Sample]:
    shared = shared_dir()
    out = datasets.camvid_samples(shared, ["test"], step, min_area)
    pets, _ = datasets.pets09_samples(shared, query_step=max(1, step), query_limit=None, gallery_step=10**6)
    return out + pets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", nargs="+", default=[f"default={default_config_path()}"], help="NAME=CONFIG pairs")
    ap.add_argument("--step", type=int, default=1, help="every n-th frame of CamVid test / annotated PETS09 frame")
    ap.add_argument("--min-area", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--grid", help="write the example picture here (PNG)")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()

    fixed = FixedDetector()
    variants = {}
    for pair in args.variants:
        name, _, path = pair.partition("=")
        cfg = config_mod.load(path).replace(seed=args.seed, preset=None)
        variants[name] = Anonymizer(cfg, detector=fixed)
    judge = build_judge(config_mod.load(default_config_path()))
    mnv2 = reid.MobileNetV2Features()

    crops: dict[str, list[np.ndarray]] = defaultdict(list)  # "original" / variant -> box crops
    keys: list[tuple[str, str, str]] = []  # (dataset, category, size) per instance
    hits: dict[str, list[bool]] = defaultdict(list)
    for sample in samples(args.step, args.min_area):
        gt = [g for g in sample.gt if g.box.width >= 8 and g.box.height >= 8]
        if not gt:
            continue
        fixed.detections = [g.detection() for g in gt]
        outputs = {"original": sample.frame} | {n: a.anonymize(sample.frame)[0] for n, a in variants.items()}
        for name, image in outputs.items():
            hits[name] += found(fixed.detections, judge.detect(image))
            crops[name] += [datasets.crop(image, g.box).copy() for g in gt]
        keys += [(sample.dataset, g.category, size_bucket(g.box)) for g in gt]

    features = {name: mnv2(c) for name, c in crops.items()}
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for i, (ds, cat, size) in enumerate(keys):
        for key in ((ds, cat, size), (ds, cat, "all")):
            groups[key].append(i)
    rows = []
    names = list(variants)
    print(f"judge: YOLOX-nano 640, score >= {judge.score_threshold}; hit = same category at IoU >= 0.5")
    head = " ".join(f"{'FD ' + n:>12s} {'KD ' + n:>10s} {'recall ' + n:>12s} {'ratio':>6s}" for n in names)
    print(f"{'dataset':8s} {'category':8s} {'size':6s} {'n':>4s} {'recall orig':>11s} {head}")
    for (ds, cat, size), idx in sorted(groups.items()):
        ix = np.array(idx)
        orig = float(np.mean([hits["original"][i] for i in idx]))
        row = {"dataset": ds, "category": cat, "size": size, "n": len(idx), "recall_original": round(orig, 3)}
        cells = []
        for n in names:
            fd = quality.frechet_distance(features["original"][ix], features[n][ix])
            kd = quality.kernel_distance(features["original"][ix], features[n][ix])
            rec = float(np.mean([hits[n][i] for i in idx]))
            ratio = rec / orig if orig else float("nan")
            row[n] = {
                "frechet": round(fd, 1),
                "kernel": round(kd, 3),
                "recall": round(rec, 3),
                "ratio": round(ratio, 3),
            }
            cells.append(f"{fd:12.1f} {kd:10.3f} {rec:12.3f} {ratio:6.2f}")
        rows.append(row)
        print(f"{ds:8s} {cat:8s} {size:6s} {len(idx):4d} {orig:11.3f} " + " ".join(cells))
    everything = np.arange(len(keys))
    overall = {n: round(quality.frechet_distance(features["original"], features[n][everything]), 1) for n in names}
    print("Fréchet, all instances: " + ", ".join(f"{n} {v}" for n, v in overall.items()))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "frechet_all": overall}, indent=1))
    if args.grid:
        write_grid(Path(args.grid), crops, keys, names)


def write_grid(path: Path, crops: dict, keys: list, names: list[str], per_cell: int = 3, height: int = 112) -> None:
    """Rows: (large|small) x (light|dark) instances; each shows original | variants."""
    luminance = np.array([cv2.cvtColor(c, cv2.COLOR_BGR2GRAY).mean() for c in crops["original"]])
    picked = []
    for size in ("large", "small"):
        idx = [i for i, k in enumerate(keys) if (k[2] == size) or (size == "small" and k[2] == "medium")]
        idx = sorted(idx, key=lambda i: luminance[i])
        if not idx:
            continue
        dark, light = idx[: max(1, len(idx) // 4)], idx[-max(1, len(idx) // 4) :]
        for pool in (light, dark):
            # Spread over the pool (and over categories) rather than the extremes only.
            cats = sorted({keys[i][1] for i in pool})
            chosen = [i for c in cats for i in [j for j in pool if keys[j][1] == c][:: max(1, len(pool) // 8)]]
            picked.append(chosen[:per_cell])
    tiles = []
    for row in picked:
        cells = []
        for i in row:
            for name in ["original", *names]:
                c = crops[name][i]
                w = max(8, round(c.shape[1] * height / c.shape[0]))
                cells.append(cv2.resize(c, (min(w, 2 * height), height), interpolation=cv2.INTER_AREA))
            cells.append(np.full((height, 12, 3), 255, np.uint8))
        tiles.append(np.concatenate(cells, 1))
    width = max(t.shape[1] for t in tiles)
    rows = [np.pad(t, ((0, 6), (0, width - t.shape[1]), (0, 0)), constant_values=255) for t in tiles]
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.concatenate(rows, 0))
    print(f"grid: {path} (rows: large light, large dark, small light, small dark; each: original | "
          + " | ".join(names) + ")")  # fmt: skip


if __name__ == "__main__":
    main()
