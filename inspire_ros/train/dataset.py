"""Single-instance dataset: every labelled person/car region becomes one training crop.

Crops, masks and edge maps are made with the inference code (crop_batch, crop_mask,
edge_maps), so training sees exactly what the pipeline will feed the models.

Sources:
- CamVid (SegNet layout): <root>/<split>/images/*.jpg + <root>/<split>/labels/*.png, labels
  8 Car, 9 Pedestrian. Labels are semantic: each 8-connected region is one instance, and
  touching people (or cars) form one region; that region is kept whole (a crowd is what the
  pipeline's detector boxes too), and other same-class pixels inside its box count as
  background for that crop.
- Cityscapes: <root>/leftImg8bit/<split>/<city>/*_leftImg8bit.png +
  <root>/gtFine/<split>/<city>/*_gtFine_instanceIds.png (id = class * 1000 + index;
  24 person, 25 rider -> person, 26 car).

Filter rule (stated, counted, reported): a region is skipped when its area is under
`min_area` pixels or its box is under `min_side` pixels on a side; at that size the
detector does not find it either. Size buckets follow COCO (small < 32^2 <= medium < 96^2).
"""

from __future__ import annotations

import glob
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..config import EdgeConfig
from ..crop import crop_batch, crop_mask
from ..datasets import CAMVID_LABELS, camvid_instances
from ..extract.edges import edge_maps
from ..types import Box, Detection

CATEGORIES = ("person", "car")
CITYSCAPES_LABELS = {24: "person", 25: "person", 26: "car"}


@dataclass
class Region:
    category: str
    box: Box
    mask: np.ndarray  # box-sized bool


@dataclass
class BuildReport:
    counts: Counter = field(default_factory=Counter)  # (category, bucket) -> kept
    skipped: Counter = field(default_factory=Counter)  # category -> filtered out
    crowded: Counter = field(default_factory=Counter)  # category -> boxes holding other same-class pixels
    frames: int = 0

    def to_dict(self) -> dict:
        return {
            "frames": self.frames,
            "kept": {f"{c}/{b}": n for (c, b), n in sorted(self.counts.items())},
            "skipped_by_filter": dict(self.skipped),
            "boxes_with_other_same_class_pixels": dict(self.crowded),
        }


def size_bucket(area: int) -> str:
    return "small" if area < 32**2 else "medium" if area < 96**2 else "large"


def camvid_frames(root: Path, split: str):
    for path in sorted(glob.glob(str(root / split / "images" / "*.jpg"))):
        label = cv2.imread(path.replace("/images/", "/labels/").replace(".jpg", ".png"), cv2.IMREAD_GRAYSCALE)
        if label is None:
            raise FileNotFoundError(f"no label PNG for {path}")
        regions = [Region(g.category, g.box, g.mask) for g in camvid_instances(label, min_area=0)]
        yield path, cv2.imread(path), regions, {c: label == lid for lid, c in CAMVID_LABELS.items()}


def cityscapes_frames(root: Path, split: str):
    pattern = str(root / "leftImg8bit" / split / "*" / "*_leftImg8bit.png")
    for path in sorted(glob.glob(pattern)):
        ids_path = path.replace("leftImg8bit", "gtFine", 1).replace("_leftImg8bit.png", "_gtFine_instanceIds.png")
        ids = cv2.imread(ids_path, cv2.IMREAD_UNCHANGED)
        if ids is None:
            raise FileNotFoundError(f"no instanceIds PNG for {path} (expected {ids_path})")
        regions = []
        for iid in np.unique(ids):
            category = CITYSCAPES_LABELS.get(int(iid) // 1000) if iid >= 1000 else None
            if category is None:
                continue
            ys, xs = np.nonzero(ids == iid)
            box = Box(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
            regions.append(Region(category, box, ids[box.y0 : box.y1, box.x0 : box.x1] == iid))
        semantic = {c: np.isin(ids // 1000, [k for k, v in CITYSCAPES_LABELS.items() if v == c]) for c in CATEGORIES}
        yield path, cv2.imread(path), regions, semantic


def build(
    source: str,
    root: Path,
    split: str,
    out: Path,
    size: int = 64,
    min_area: int = 64,
    min_side: int = 6,
    edges: EdgeConfig | None = None,
    limit: int | None = None,
) -> BuildReport:
    """Write <out>/<split>.npz (images, valid, masks, edges, category, area, box, frame);
    `limit` stops after that many frames (smoke tests)."""
    frames = {"camvid": camvid_frames, "cityscapes": cityscapes_frames}[source](root, split)
    edges = edges or EdgeConfig()
    report = BuildReport()
    arrays: dict[str, list] = {k: [] for k in ("images", "valid", "masks", "edges", "category", "area", "box", "frame")}
    names = []
    for path, image, regions, semantic in frames:
        if limit is not None and report.frames >= limit:
            break
        if image is None:
            raise ValueError(f"cannot read {path}")
        report.frames += 1
        names.append(Path(path).name)
        for category in CATEGORIES:
            keep = []
            for r in regions:
                if r.category != category:
                    continue
                area = int(r.mask.sum())
                if area < min_area or min(r.box.width, r.box.height) < min_side:
                    report.skipped[category] += 1
                    continue
                keep.append(r)
                report.counts[(category, size_bucket(area))] += 1
                b = r.box
                if (semantic[category][b.y0 : b.y1, b.x0 : b.x1] & ~r.mask).any():
                    report.crowded[category] += 1
            if not keep:
                continue
            dets = [Detection(r.box, category, 0, 1.0) for r in keep]
            batch = crop_batch(image, category, dets, size)
            arrays["images"].append(batch.images)
            arrays["valid"].append(batch.valid)
            masks = [crop_mask(r.mask, g, size) for r, g in zip(keep, batch.geometry, strict=True)]
            arrays["masks"].append(np.stack(masks))
            arrays["edges"].append(edge_maps(batch.images, batch.valid, edges))
            arrays["category"].append(np.full(len(keep), CATEGORIES.index(category), np.int8))
            arrays["area"].append(np.array([int(r.mask.sum()) for r in keep], np.int32))
            arrays["box"].append(np.array([r.box.as_list() for r in keep], np.int32))
            arrays["frame"].append(np.full(len(keep), len(names) - 1, np.int32))
    if report.frames == 0:
        raise FileNotFoundError(f"no {source} frames for split '{split}' under {root}")
    out.mkdir(parents=True, exist_ok=True)
    data = {k: np.concatenate(v) for k, v in arrays.items()}
    tmp = out / f".{split}.tmp.npz"
    np.savez_compressed(tmp, **data, frame_names=np.array(names), size=size)
    tmp.replace(out / f"{split}.npz")
    (out / f"{split}.json").write_text(json.dumps({"source": source, "root": str(root), **report.to_dict()}, indent=1))
    return report


def load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}
