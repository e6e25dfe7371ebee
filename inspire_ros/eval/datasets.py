"""Evaluation frames with ground truth: CamVid label regions and PETS09 S2L1 person boxes.

CamVid labels are semantic: each connected Car (8) / Pedestrian (9) region is one instance
(touching instances merge), with its pixel mask. PETS09 (MOT15 `gt_every5.txt`) gives person
boxes with identities for the re-identification attack; its masks are unknown (None).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..types import Box
from . import EvalError

CAMVID_CLASSES = {8: "car", 9: "person"}
PETS09_SIZE = (768, 576)  # width, height of vtest.avi


@dataclass(frozen=True)
class GtInstance:
    category: str
    box: Box
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)  # box-sized bool, None: box only
    identity: int | None = None

    def pixel_mask(self) -> np.ndarray:
        return self.mask if self.mask is not None else np.ones((self.box.height, self.box.width), bool)


@dataclass
class Sample:
    dataset: str  # "pets09" | "camvid"
    key: str  # e.g. "pets09/f0001", "camvid/val/0016E5_08053"
    frame: np.ndarray  # HxWx3 uint8 BGR
    gt: list[GtInstance]

    def gt_mask(self) -> np.ndarray:
        """HxW bool: pixels of any ground-truth instance (whole boxes where no mask is known)."""
        union = np.zeros(self.frame.shape[:2], bool)
        for g in self.gt:
            b = g.box
            union[b.y0 : b.y1, b.x0 : b.x1] |= g.pixel_mask()
        return union


@dataclass
class Gallery:
    """Original person crops with identities, from frames that are never queried."""

    crops: list[np.ndarray]
    identities: list[int]
    frames: list[int]


def require(path: Path, what: str) -> Path:
    if not path.exists():
        raise EvalError(
            f"{what} not found: {path}. To fix: point --shared (or INSPIRE_SHARED) at the shared folder "
            "that holds data/ and models/ (see ../shared/README.md)"
        )
    return path


def crop(frame: np.ndarray, box: Box) -> np.ndarray:
    return frame[box.y0 : box.y1, box.x0 : box.x1]


# ---------------------------------------------------------------------------------------
# CamVid


def camvid_instances(label: np.ndarray, min_area: int) -> list[GtInstance]:
    out = []
    for lid, cat in CAMVID_CLASSES.items():
        n, cc, stats, _ = cv2.connectedComponentsWithStats((label == lid).astype(np.uint8))
        for j in range(1, n):
            x, y, w, h, a = (int(v) for v in stats[j])
            if a >= min_area:
                out.append(GtInstance(cat, Box(x, y, x + w, y + h), cc[y : y + h, x : x + w] == j))
    return out


def camvid_samples(shared: Path, splits: list[str], step: int, min_area: int, limit: int | None = None) -> list[Sample]:
    """Every `step`-th labelled frame of each split (sorted by name), up to `limit` frames per split."""
    root = require(shared / "data" / "camvid", "CamVid data folder")
    samples = []
    for split in splits:
        images = sorted(require(root / split / "images", f"CamVid {split} images").glob("*.jpg"))
        if not images:
            raise EvalError(f"no CamVid images in {root / split / 'images'}: the shared data is incomplete")
        chosen = images[::step][:limit]
        for path in chosen:
            label_path = require(root / split / "labels" / f"{path.stem}.png", "CamVid label")
            frame = cv2.imread(str(path))
            label = cv2.imread(str(label_path), cv2.IMREAD_GRAYSCALE)
            if frame is None or label is None:
                raise EvalError(f"cannot decode {path} or {label_path}: the shared data is damaged")
            samples.append(Sample("camvid", f"camvid/{split}/{path.stem}", frame, camvid_instances(label, min_area)))
    return samples


# ---------------------------------------------------------------------------------------
# PETS09 S2L1


def pets09_gt(shared: Path, min_side: int = 8) -> dict[int, list[GtInstance]]:
    """1-based frame number -> person boxes with identities (boxes flagged not-to-consider dropped)."""
    path = require(shared / "data" / "pets09_s2l1" / "gt_every5.txt", "PETS09 ground truth")
    w_max, h_max = PETS09_SIZE
    gt: dict[int, list[GtInstance]] = {}
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        f, ident, x, y, w, h, consider = (float(v) for v in line.split(",")[:7])
        if consider == 0:
            continue
        box = Box(max(0, int(x)), max(0, int(y)), min(w_max, int(x + w)), min(h_max, int(y + h)))
        if box.width < min_side or box.height < min_side:
            continue
        gt.setdefault(int(f), []).append(GtInstance("person", box, None, int(ident)))
    return gt


def pets09_split(gt: dict[int, list[GtInstance]], query_step: int, query_limit: int | None, gallery_step: int):
    """Query frames (every `query_step`-th annotated frame) and disjoint gallery frames (every
    `gallery_step`-th of the rest)."""
    annotated = sorted(gt)
    query = annotated[::query_step][:query_limit]
    rest = [f for f in annotated if f not in set(query)]
    return query, rest[::gallery_step]


def pets09_samples(
    shared: Path, query_step: int, query_limit: int | None, gallery_step: int
) -> tuple[list[Sample], Gallery]:
    video = require(shared / "data" / "pets09_s2l1" / "vtest.avi", "PETS09 video")
    gt = pets09_gt(shared)
    query, gallery_frames = pets09_split(gt, query_step, query_limit, gallery_step)
    wanted = set(query) | set(gallery_frames)
    samples, gallery = [], Gallery([], [], [])
    cap = cv2.VideoCapture(str(video))
    index = 0
    try:
        while wanted:
            ok, frame = cap.read()
            if not ok:
                raise EvalError(f"{video} ended at frame {index}; expected frames up to {max(wanted)}")
            index += 1  # MOT frame numbers are 1-based
            if index not in wanted:
                continue
            wanted.discard(index)
            if index in gallery_frames:
                for g in gt[index]:
                    gallery.crops.append(crop(frame, g.box).copy())
                    gallery.identities.append(g.identity)
                    gallery.frames.append(index)
            else:
                samples.append(Sample("pets09", f"pets09/f{index:04d}", frame, gt[index]))
    finally:
        cap.release()
    return samples, gallery
