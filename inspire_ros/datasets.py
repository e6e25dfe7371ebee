"""Frames with ground truth: CamVid label regions and PETS09 S2L1 person boxes, for training,
evaluation, the benchmarks and the tests.

CamVid labels are semantic: each connected Car (8) / Pedestrian (9) region is one instance
(touching instances merge), with its pixel mask. PETS09 (MOT15 `gt_every5.txt`) gives person
boxes with identities for the re-identification attack; its masks are unknown (None).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .boxes import union_mask
from .errors import EvalError
from .paths import pets09_video, shared_dir
from .svia.classes import CAMVID_CLASSES
from .types import Box, Detection

# CamVid label id -> the instance category it is (the label ids are the segmenter's classes).
CAMVID_LABELS = {CAMVID_CLASSES.index("car"): "car", CAMVID_CLASSES.index("pedestrian"): "person"}


@dataclass(frozen=True)
class GtInstance:
    category: str
    box: Box
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)  # box-sized bool, None: box only
    identity: int | None = None

    def pixel_mask(self) -> np.ndarray:
        return self.mask if self.mask is not None else np.ones((self.box.height, self.box.width), bool)

    def detection(self) -> Detection:
        """The instance as a detection of score 1 (ground truth fed to a FixedDetector)."""
        return Detection(self.box, self.category, 0, 1.0)


@dataclass
class Sample:
    dataset: str  # "pets09" | "camvid"
    key: str  # e.g. "pets09/f0001", "camvid/val/0016E5_08053"
    frame: np.ndarray  # HxWx3 uint8 BGR
    gt: list[GtInstance]

    def gt_mask(self) -> np.ndarray:
        """HxW bool: pixels of any ground-truth instance (whole boxes where no mask is known)."""
        return union_mask(self.frame.shape, self.gt)


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


def video_frames_at(video: Path, wanted: Iterable[int]) -> Iterator[tuple[int, np.ndarray]]:
    """(index, frame) of the wanted 0-based frame indices of a video, in order; EvalError when it
    ends before the last."""
    wanted = sorted(set(wanted))
    cap = cv2.VideoCapture(str(video))
    index = 0
    try:
        for want in wanted:
            while True:
                ok, frame = cap.read()
                if not ok:
                    raise EvalError(f"{video} ended at frame {index}; expected frames up to {wanted[-1]}")
                index += 1
                if index - 1 == want:
                    yield want, frame
                    break
    finally:
        cap.release()


def video_size(video: Path) -> tuple[int, int]:
    """(width, height) of a video's frames, as its container states them."""
    cap = cv2.VideoCapture(str(video))
    try:
        size = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        cap.release()
    if min(size) <= 0:
        raise EvalError(f"cannot read the frame size of {video}: the shared data is damaged")
    return size


# ---------------------------------------------------------------------------------------
# CamVid


def camvid_instances(label: np.ndarray, min_area: int) -> list[GtInstance]:
    """Each 8-connected region of a CamVid instance class of at least `min_area` pixels, with
    its box-sized mask: cars first, then people, each in label order."""
    out = []
    for lid, cat in CAMVID_LABELS.items():
        n, cc, stats, _ = cv2.connectedComponentsWithStats((label == lid).astype(np.uint8), connectivity=8)
        for j in range(1, n):
            x, y, w, h, a = (int(v) for v in stats[j])
            if a >= min_area:
                out.append(GtInstance(cat, Box(x, y, x + w, y + h), cc[y : y + h, x : x + w] == j))
    return out


def camvid_root(shared: Path) -> Path:
    """The CamVid folder of the shared folder (SegNet layout: <split>/images/<sequence>_<frame>.jpg
    and <split>/labels/<same stem>.png, 8-bit label ids)."""
    return require(shared / "data" / "camvid", "CamVid data folder")


def camvid_images(root: Path, split: str) -> list[Path]:
    """The frames of a split of the CamVid folder `root`: the .jpg images sorted by name, then
    any .png ones."""
    folder = require(root / split / "images", f"CamVid {split} images")
    images = sorted(folder.glob("*.jpg")) + sorted(folder.glob("*.png"))
    if not images:
        raise EvalError(f"no CamVid images in {folder}: the shared data is incomplete")
    return images


def camvid_label_path(image: Path) -> Path:
    """The label PNG of a CamVid image (`camvid_images`)."""
    return require(image.parent.parent / "labels" / f"{image.stem}.png", "CamVid label")


def read_camvid(image: Path) -> tuple[np.ndarray, np.ndarray]:
    """(BGR frame, label ids) of a CamVid image (`camvid_images`)."""
    label_path = camvid_label_path(image)
    frame = cv2.imread(str(image))
    label = cv2.imread(str(label_path), cv2.IMREAD_GRAYSCALE)
    if frame is None or label is None:
        raise EvalError(f"cannot decode {image} or {label_path}: the shared data is damaged")
    return frame, label


def camvid_labelled(
    shared: Path, split: str, step: int = 1, limit: int | None = None
) -> Iterator[tuple[Path, np.ndarray, np.ndarray]]:
    """(image path, BGR frame, label ids) of every `step`-th labelled frame of a split (sorted by
    name), up to `limit` frames."""
    for path in camvid_images(camvid_root(shared), split)[::step][:limit]:
        yield path, *read_camvid(path)


def camvid_samples(shared: Path, splits: list[str], step: int, min_area: int, limit: int | None = None) -> list[Sample]:
    """Every `step`-th labelled frame of each split (sorted by name), up to `limit` frames per split."""
    return [
        Sample("camvid", f"camvid/{split}/{path.stem}", frame, camvid_instances(label, min_area))
        for split in splits
        for path, frame, label in camvid_labelled(shared, split, step, limit)
    ]


# ---------------------------------------------------------------------------------------
# PETS09 S2L1


def pets09_gt(
    shared: Path, min_side: int = 8, size: tuple[int, int] | None = None, considered_only: bool = True
) -> dict[int, list[GtInstance]]:
    """1-based frame number -> person boxes with identities, clipped to the frame (`size`, width
    and height; default: read from the video). Boxes under `min_side` pixels on a side are
    dropped, and with `considered_only` those the file flags not to consider."""
    path = require(pets09_video(shared).with_name("gt_every5.txt"), "PETS09 ground truth")
    w_max, h_max = size or video_size(require(pets09_video(shared), "PETS09 video"))
    gt: dict[int, list[GtInstance]] = {}
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        f, ident, x, y, w, h, consider = (float(v) for v in line.split(",")[:7])
        if consider == 0 and considered_only:
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
    queried = set(query)
    rest = [f for f in annotated if f not in queried]
    return query, rest[::gallery_step]


def pets09_samples(
    shared: Path, query_step: int, query_limit: int | None, gallery_step: int
) -> tuple[list[Sample], Gallery]:
    video = require(pets09_video(shared), "PETS09 video")
    gt = pets09_gt(shared)
    query, gallery_frames = pets09_split(gt, query_step, query_limit, gallery_step)
    in_gallery = set(gallery_frames)
    samples, gallery = [], Gallery([], [], [])
    for i, frame in video_frames_at(video, [f - 1 for f in (*query, *gallery_frames)]):
        index = i + 1  # MOT frame numbers are 1-based
        if index in in_gallery:
            for g in gt[index]:
                gallery.crops.append(crop(frame, g.box).copy())
                gallery.identities.append(g.identity)
                gallery.frames.append(index)
        else:
            samples.append(Sample("pets09", f"pets09/f{index:04d}", frame, gt[index]))
    return samples, gallery


# ---------------------------------------------------------------------------------------
# Either, as detections


def gt_frames(
    dataset: str, min_area: int, step: int, shared: Path | None = None
) -> Iterator[tuple[np.ndarray, list[Detection]]]:
    """(frame, ground truth as detections of score 1) for `camvid-<split>` (every `step`-th
    labelled frame, regions of at least `min_area` pixels) or `pets09` (every `step`-th
    annotated frame, every box of the file)."""
    shared = shared or shared_dir()
    if dataset.startswith("camvid-"):
        for _, frame, label in camvid_labelled(shared, dataset[len("camvid-") :], step):
            yield frame, [g.detection() for g in camvid_instances(label, min_area)]
    elif dataset == "pets09":
        gt = pets09_gt(shared, min_side=0, considered_only=False)
        wanted = sorted(gt)[:: max(1, step)]
        for i, frame in video_frames_at(require(pets09_video(shared), "PETS09 video"), [f - 1 for f in wanted]):
            yield frame, [g.detection() for g in gt[i + 1]]
    else:
        raise EvalError(f"unknown dataset {dataset!r}: camvid-<split> or pets09")
