"""`inspire eval scene`: what SVIA (whole-scene anonymization) protects and what it keeps.

On CamVid (480x360; test = 62 frames of drive 0001TP, ~1 s apart, later than the 0001TP
frames of train; val = 101 frames of 0016E5, 2/30 s apart, in a gap of the 0016E5 train
frames), for the originals (`none`), `svia`, `hybrid` and the box baselines applied to the
very masks SVIA replaces (`blur`, `pixelate`, `fill` inside `SceneReplacement.masks`):

- place attack (location privacy): ImageNet MobileNetV2 global features of each anonymized
  frame (query) against the ORIGINAL frames of its split (gallery), the query's own original
  left out; top-1 is right when the best gallery frame lies within +-2 frames of the query in
  the same sequence. Chance = expected top-1 of a random pick under the same exclusion.
- sequence attack (the paper's ACR idea): multinomial logistic regression (numpy) on the
  MobileNetV2 features of the original train frames, labels = drive; accuracy on the
  anonymized val+test frames. Chance = always answering the train majority drive.
- Fréchet / kernel distance of whole-frame MobileNetV2 features (NOT Inception FID/KID).
- PerSim: OSNet cosine between the original and the anonymized crop of each ground-truth
  pedestrian region (label 9, connected, >= 200 px).
- utility: the SVIA segmenter's mIoU on anonymized frames against the CamVid labels (ratio to
  the originals), the judge detector's mAP@0.5 against CamVid car/pedestrian regions, and
  wall seconds per frame on this machine.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .. import __version__
from .. import config as config_mod
from ..baselines import OBFUSCATORS
from ..config import BaselinesConfig
from ..datasets import camvid_instances, require
from ..detect import build_detector
from ..detect.fixed import FixedDetector
from ..io.media import AtomicPath
from ..model_store import resolve, sha256_of
from ..paths import default_config_path, shared_dir
from ..pipeline import Anonymizer, padded_detections
from ..replace import scene_categories
from ..svia.classes import CAMVID_CLASSES, confusion, miou
from ..types import Detection
from . import EvalError, quality, reid
from .report import DECIMALS, cell
from .utility import UtilityAccumulator

log = logging.getLogger(__name__)

SCHEMA = "inspire_ros.eval_scene/1"
METHODS = ("none", "svia", "hybrid", "blur", "pixelate", "fill")
MASK_BASELINES = ("blur", "pixelate", "fill")
QUERY_SPLITS = ("test", "val")  # each split is its own place gallery
TRAIN_SPLIT = "train"
WINDOW = 2  # place attack: a gallery frame within +-2 frames of the query's is the same place
FPS = 30  # CamVid frame numbers count 30 fps video frames
PEDESTRIAN_MIN_AREA = 200  # PerSim regions and the judge's ground-truth boxes
DETECTOR_CLASS_IDS = {"person": 0, "car": 2}
GRID_ROWS = 4
GRID_TILE = (240, 180)
GRID_COLUMNS = ("original", "segmentation", "svia", "hybrid", "blur", "pixelate", "fill")
TARGETS = {"place_ratio": 0.3, "miou_ratio": 0.85, "seconds_per_frame": 1.0}
# CamVid's usual colours (RGB), for the segmentation column; unlabelled black.
PALETTE_RGB = [
    (128, 128, 128), (128, 0, 0), (192, 192, 128), (128, 64, 128), (60, 40, 222), (128, 128, 0),
    (192, 128, 128), (64, 64, 128), (64, 0, 128), (64, 64, 0), (0, 128, 192), (0, 0, 0),
]  # fmt: skip


# ---------------------------------------------------------------------------------------
# Data


@dataclass
class SplitFrames:
    """Frames of one CamVid split at full resolution, sorted by name."""

    split: str
    names: list[str]  # <sequence>_<frame>
    images: list[np.ndarray]  # HxWx3 uint8 BGR
    labels: list[np.ndarray]  # HxW uint8 CamVid ids, 11 unlabelled

    def __len__(self) -> int:
        return len(self.names)

    @property
    def sequences(self) -> list[str]:
        return [n.split("_")[0] for n in self.names]

    @property
    def numbers(self) -> np.ndarray:
        """Video frame number of each frame (30 fps)."""
        return np.array([frame_number(n) for n in self.names])

    @property
    def positions(self) -> np.ndarray:
        """Rank of each frame within its sequence in this split (consecutive frames: 1 apart)."""
        return sequence_positions(self.names)


def frame_number(name: str) -> int:
    """`0001TP_008550` -> 8550, `0006R0_f02220` -> 2220."""
    digits = re.sub(r"\D", "", name.split("_", 1)[1])
    if not digits:
        raise EvalError(f"CamVid file name {name!r} is not <sequence>_<frame number>")
    return int(digits)


def sequence_positions(names: list[str]) -> np.ndarray:
    seqs = [n.split("_")[0] for n in names]
    numbers = [frame_number(n) for n in names]
    pos = np.zeros(len(names), int)
    for s in set(seqs):
        idx = [i for i, q in enumerate(seqs) if q == s]
        for rank, i in enumerate(sorted(idx, key=lambda i: numbers[i])):
            pos[i] = rank
    return pos


def choose(n: int, frames: int | None, how: str) -> list[int]:
    """Indices of the frames used: all; `frames` consecutive ones from the middle (block:
    the place attack keeps its +-2 frame meaning); or `frames` spread evenly (spread)."""
    if frames is None or frames >= n:
        return list(range(n))
    if how == "block":
        start = (n - frames) // 2
        return list(range(start, start + frames))
    return sorted({int(round(x)) for x in np.linspace(0, n - 1, frames)})


def load_split(shared: Path, split: str, frames: int | None = None, how: str = "block") -> SplitFrames:
    root = require(shared / "data" / "camvid", "CamVid data folder")
    files = sorted(require(root / split / "images", f"CamVid {split} images").glob("*.jpg"))
    if not files:
        raise EvalError(f"no CamVid images in {root / split / 'images'}: the shared data is incomplete")
    out = SplitFrames(split, [], [], [])
    for i in choose(len(files), frames, how):
        path = files[i]
        label_path = require(root / split / "labels" / f"{path.stem}.png", "CamVid label")
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        label = cv2.imread(str(label_path), cv2.IMREAD_GRAYSCALE)
        if image is None or label is None:
            raise EvalError(f"cannot decode {path} or {label_path}: the shared data is damaged")
        out.names.append(path.stem)
        out.images.append(image)
        out.labels.append(label)
    return out


# ---------------------------------------------------------------------------------------
# Attacks


def place_attack(
    query: np.ndarray,
    own: np.ndarray | list[int],
    gallery: np.ndarray,
    sequences: list[str],
    positions: np.ndarray,
    window: float = WINDOW,
) -> dict:
    """Location attack: query i (features) is matched against every gallery row but `own[i]`
    (its original); right when the most similar row (cosine) is in the same sequence within
    `window` positions of `own[i]`. Chance: per query, the share of allowed rows that are
    right, averaged (the expected top-1 of a uniformly random pick)."""
    own = np.asarray(own, int)
    n, g = len(own), len(gallery)
    if n == 0 or g < 2:
        return {"top1": float("nan"), "chance": float("nan"), "queries": n, "gallery": g}
    rows = np.arange(n)
    sim = reid.l2n(query) @ reid.l2n(gallery).T
    sim[rows, own] = -np.inf
    best = sim.argmax(1)
    seq, pos = np.asarray(sequences), np.asarray(positions, float)
    near = (seq[None, :] == seq[own][:, None]) & (np.abs(pos[None, :] - pos[own][:, None]) <= window)
    near[rows, own] = False
    return {
        "top1": float(near[rows, best].mean()),
        "chance": float((near.sum(1) / (g - 1)).mean()),
        "queries": n,
        "gallery": g,
    }


class SequenceClassifier:
    """Multinomial logistic regression in numpy: features L2-normalised, then standardised
    with the training set's mean/std; full-batch gradient descent on the mean cross-entropy
    + l2/2 |W|^2, step 1/L (L the gradient's Lipschitz bound), so it is deterministic."""

    def __init__(self, l2: float = 1e-2, steps: int = 400):
        self.l2, self.steps = l2, steps

    def _x(self, feats: np.ndarray) -> np.ndarray:
        x = (reid.l2n(feats.astype(np.float64)) - self.mean) / self.std
        return np.hstack([x, np.ones((len(x), 1))])

    def fit(self, feats: np.ndarray, labels: list[str]) -> SequenceClassifier:
        self.classes = sorted(set(labels))
        z = reid.l2n(feats.astype(np.float64))
        self.mean, self.std = z.mean(0), z.std(0) + 1e-6
        x = self._x(feats)
        y = np.zeros((len(x), len(self.classes)))
        y[np.arange(len(x)), [self.classes.index(c) for c in labels]] = 1
        lipschitz = 0.5 * np.linalg.norm(x, 2) ** 2 / len(x) + self.l2
        w = np.zeros((x.shape[1], len(self.classes)))
        for _ in range(self.steps):
            p = _softmax(x @ w)
            w -= (x.T @ (p - y) / len(x) + self.l2 * w) / lipschitz
        self.w = w
        return self

    def predict(self, feats: np.ndarray) -> list[str]:
        if len(feats) == 0:
            return []
        return [self.classes[i] for i in (self._x(feats) @ self.w).argmax(1)]


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def majority_chance(train_labels: list[str], test_labels: list[str]) -> float:
    """Accuracy of always answering the most frequent training label."""
    if not test_labels:
        return float("nan")
    values, counts = np.unique(train_labels, return_counts=True)
    return float(np.mean(np.asarray(test_labels) == values[counts.argmax()]))


def persim(original: np.ndarray, anonymized: np.ndarray) -> float:
    """Mean cosine similarity of paired (L2-normalised) OSNet features."""
    if len(original) == 0:
        return float("nan")
    return float((reid.l2n(original) * reid.l2n(anonymized)).sum(1).mean())


# ---------------------------------------------------------------------------------------
# Segmentation


def colorize(labels: np.ndarray) -> np.ndarray:
    palette = np.array([c[::-1] for c in PALETTE_RGB], np.uint8)  # BGR
    return palette[np.minimum(labels, len(palette) - 1)]


# ---------------------------------------------------------------------------------------
# Methods


def obfuscate_masks(frame: np.ndarray, masks: dict[str, np.ndarray], method: str, cfg: BaselinesConfig) -> np.ndarray:
    """A box baseline (blur | pixelate | fill, `baselines.py`) applied to every connected
    region of every category mask (on the region's box, from the original pixels), written
    inside the mask only. Categories in `masks` order: later ones win where masks overlap."""
    fn = OBFUSCATORS[method]
    out = frame.copy()
    for mask in masks.values():
        n, cc, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        for j in range(1, n):
            x, y, w, h = (int(v) for v in stats[j][:4])
            inside = cc[y : y + h, x : x + w] == j
            region = fn(frame[y : y + h, x : x + w], cfg)
            out[y : y + h, x : x + w][inside] = region[inside]
    return out


@dataclass
class SceneMethod:
    name: str
    description: str
    params: dict = field(default_factory=dict)
    anonymizer: Anonymizer | None = None
    fixed: FixedDetector | None = None
    baselines: BaselinesConfig | None = None

    def apply(self, frame: np.ndarray, candidates: list[Detection], masks: dict, rng: np.random.Generator):
        """`candidates`: the pipeline detector's on `frame` (the Anonymizer pads and thresholds
        them itself); `masks`: SceneReplacement.masks of the replaced ones (the baselines)."""
        if self.name == "none":
            return frame.copy()
        if self.anonymizer is not None:
            self.fixed.detections = list(candidates)
            return self.anonymizer.anonymize(frame, rng=rng)[0]
        return obfuscate_masks(frame, masks, self.name, self.baselines)


def build_methods(names: list[str], noise: list[float], base: config_mod.Config, scene) -> list[SceneMethod]:
    """`scene`: the svia method's SceneReplacement (its blocks are shared by every method)."""

    def anonymizer_method(name, cfg, description, params):
        fixed = FixedDetector()
        return SceneMethod(name, description, params, Anonymizer(cfg, fixed, scene_blocks=scene.blocks), fixed)

    svia = base.svia
    out = []
    for name in names:
        if name == "none":
            out.append(SceneMethod(name, "no anonymization (the original frames)"))
        elif name in ("svia", "hybrid"):
            cfg = base.replace(method=name)
            cats = ", ".join(scene_categories(cfg))
            desc = {
                "svia": f"SVIA: segment -> Laplace b={svia.noise_scale:g} -> inpaint -> harmonize ({cats})",
                "hybrid": f"INSPIRE for detected people/cars + SVIA for {cats}",
            }[name]
            out.append(anonymizer_method(name, cfg, desc, {"categories": scene_categories(cfg)}))
        elif name in MASK_BASELINES:
            b = base.baselines
            params = {
                "blur": {"size": b.blur.size, "kernel_size": b.blur.kernel_size, "sigma": b.blur.sigma},
                "pixelate": {"cells": b.pixelate.cells},
                "fill": {"color": list(b.fill.color)},
            }[name]
            desc = f"baselines.py {name} of each connected region of SVIA's masks, inside the masks only"
            out.append(SceneMethod(name, desc, params, baselines=b))
        else:
            raise EvalError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
    for b in noise:
        cfg = base.replace(**{"method": "svia", "svia.noise_scale": float(b)})
        out.append(anonymizer_method(f"svia-b{b:g}", cfg, f"svia with Laplace b={b:g}", {"noise_scale": float(b)}))
    return out


def _replaced(cfg: config_mod.Config, candidates: list[Detection], shape) -> list[Detection]:
    """What the Anonymizer replaces of the detector's candidates (no tracker): padded boxes
    at or above the score threshold. The masks the baselines obfuscate include them."""
    padded = padded_detections(candidates, cfg.detector.box_padding, shape)
    return [d for d in padded if d.score >= cfg.detector.score_threshold]


# ---------------------------------------------------------------------------------------
# Evaluation


def _nan_none(x):
    if isinstance(x, dict):
        return {k: _nan_none(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_nan_none(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return None if np.isnan(x) else round(float(x), 5)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def _ratio(a: float, b: float) -> float:
    return a / b if b and not np.isnan(a) and not np.isnan(b) else float("nan")


def _gt_detections(label: np.ndarray) -> list[Detection]:
    return [
        Detection(g.box, g.category, DETECTOR_CLASS_IDS[g.category], 1.0)
        for g in camvid_instances(label, PEDESTRIAN_MIN_AREA)
    ]


def _model_info(cfg: config_mod.Config) -> dict:
    """The SVIA models used: file, sha256, whether it is the manifest's (shipped) model and
    the manifest's record of its training."""
    import yaml

    from ..model_store import manifest_path
    from ..svia.blocks import DEFAULT_MODELS

    try:
        manifest = (yaml.safe_load(manifest_path().read_text()) or {}).get("models") or {}
    except (OSError, yaml.YAMLError, AttributeError):
        manifest = {}
    out = {}
    for kind, default in DEFAULT_MODELS.items():
        block = getattr(cfg.svia, kind)
        if block.type != "onnx":
            out[kind] = {"type": block.type, "model": block.model}
            continue
        path = resolve(block.model or default, block.sha256)
        digest = sha256_of(path)
        entry = manifest.get(path.name) or {}
        shipped = block.model is None and str(entry.get("sha256", "")).lower() == digest
        out[kind] = {
            "model": path.name,
            "path": str(path),
            "sha256": digest,
            "shipped": shipped,
            "training": entry.get("training") if shipped else None,
        }
    return out


def evaluate(
    shared: Path | None = None,
    methods: list[str] | None = None,
    frames: int | None = None,
    train_frames: int | None = None,
    noise: list[float] | None = None,
    seed: int = 0,
    config_path: Path | None = None,
    overrides: dict | None = None,
    progress: bool = False,
) -> tuple[dict, np.ndarray]:
    """Run the scene evaluation; returns (report, example grid image BGR).

    `frames`: N consecutive frames from the middle of each query split (default all);
    `train_frames`: N train frames spread over the split for the sequence classifier."""
    started = time.perf_counter()
    shared = Path(shared) if shared else shared_dir()
    names = list(dict.fromkeys(methods or METHODS))
    unknown = [m for m in names if m not in METHODS]
    if unknown:
        raise EvalError(f"unknown method {unknown[0]!r}; known: {', '.join(METHODS)}")
    noise = list(dict.fromkeys(float(b) for b in noise or []))
    if any(b < 0 for b in noise):
        raise EvalError("--noise scales must be >= 0")
    if "none" not in names:
        names.insert(0, "none")  # the reference every ratio is taken against

    # Data first: a missing file fails before any model loads.
    splits = {s: load_split(shared, s, frames, "block") for s in QUERY_SPLITS}
    train = load_split(shared, TRAIN_SPLIT, train_frames, "spread")
    queries = [(s, i) for s in QUERY_SPLITS for i in range(len(splits[s]))]
    q_images = [splits[s].images[i] for s, i in queries]
    q_labels = [splits[s].labels[i] for s, i in queries]
    q_split = np.array([s for s, _ in queries])
    q_seq = [splits[s].sequences[i] for s, i in queries]

    base = config_mod.load(config_path or default_config_path())
    local = shared / "models" / base.detector.model
    changes: dict = {"seed": seed}
    if local.is_file():  # --shared names where the detector is, too
        changes["detector.model"] = str(local)
    base = base.replace(**changes)
    if overrides:
        base = base.replace(**overrides)
    from ..svia.scene import SceneReplacement

    models = _model_info(base)  # hashed as they are loaded: the figures belong to these files
    svia_cfg = base.replace(method="svia")
    scene = SceneReplacement(svia_cfg, scene_categories(svia_cfg))
    method_list = build_methods(names, noise, base, scene)
    detector = build_detector(base)
    from .run import JudgeSettings, build_judge

    judge, judge_cfg = build_judge(JudgeSettings(config=str(config_path) if config_path else None), shared)
    mnv2 = reid.MobileNetV2Features()
    osnet = reid.OsnetFeatures(shared)

    # Originals: detections, masks, segmentation, features, ground truth.
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(queries) * (len(method_list) + 1), unit="frame", desc="eval scene")
    candidates, masks, det_s, mask_s, seg_orig, gt_boxes, peds = [], [], [], [], [], [], []
    for qi, image in enumerate(q_images):
        t0 = time.perf_counter()
        found = detector.detect(image)
        t1 = time.perf_counter()
        seg_orig.append(scene.labels(image))
        masks.append(scene.masks(image, _replaced(base, found, image.shape), seg_orig[-1]))
        t2 = time.perf_counter()
        candidates.append(found)
        det_s.append(t1 - t0)
        mask_s.append(t2 - t1)
        gt_boxes.append(_gt_detections(q_labels[qi]))
        peds += [(qi, g.box) for g in gt_boxes[-1] if g.category == "person"]
        if bar is not None:
            bar.update(1)
    orig_mn = mnv2(q_images)
    orig_os = osnet([q_images[qi][b.y0 : b.y1, b.x0 : b.x1] for qi, b in peds])
    train_mn = mnv2(train.images)
    classifier = SequenceClassifier().fit(train_mn, train.sequences)
    seq_chance = majority_chance(train.sequences, q_seq)

    def place(feats: np.ndarray) -> dict:
        out = {}
        for s in QUERY_SPLITS:
            rows = np.flatnonzero(q_split == s)
            sp = splits[s]
            own = np.arange(len(rows))
            r = place_attack(feats[rows], own, orig_mn[rows], sp.sequences, sp.positions, WINDOW)
            r2 = place_attack(feats[rows], own, orig_mn[rows], sp.sequences, sp.numbers, 2 * FPS)
            out[s] = {**r, "top1_2s": r2["top1"], "chance_2s": r2["chance"]}
        out["mean"] = {
            k: float(np.mean([out[s][k] for s in QUERY_SPLITS])) for k in ("top1", "chance", "top1_2s", "chance_2s")
        }
        return out

    reference_place = place(orig_mn)
    grid_rows = _grid_rows(q_split)
    grid: dict[str, list[np.ndarray]] = {
        "original": [_tile(q_images[r]) for r in grid_rows],
        "segmentation": [_tile(colorize(seg_orig[r]), cv2.INTER_NEAREST) for r in grid_rows],
    }

    results: dict[str, dict] = {}
    conf_orig = {
        s: sum(confusion(seg_orig[r], q_labels[r]) for r in np.flatnonzero(q_split == s)) for s in QUERY_SPLITS
    }
    util_orig = None
    for mi, method in enumerate(method_list):
        outs, seconds = [], []
        conf = {s: np.zeros((len(CAMVID_CLASSES),) * 2, np.int64) for s in QUERY_SPLITS}
        util = UtilityAccumulator(("person", "car"))
        for qi, image in enumerate(q_images):
            rng = np.random.default_rng([seed, mi, qi])
            t0 = time.perf_counter()
            out = method.apply(image, candidates[qi], masks[qi], rng)
            took = time.perf_counter() - t0
            if method.name in MASK_BASELINES:
                took += mask_s[qi]  # the baselines need SVIA's segmentation too
            seconds.append(0.0 if method.name == "none" else took + det_s[qi])
            outs.append(out)
            labels = seg_orig[qi] if method.name == "none" else scene.labels(out)
            conf[q_split[qi]] += confusion(labels, q_labels[qi])
            util.add(gt_boxes[qi], judge.detect(out))
            if bar is not None:
                bar.update(1)
        if method.name == "none":
            util_orig = util
        feats = orig_mn if method.name == "none" else mnv2(outs)
        anon_os = orig_os if method.name == "none" else osnet([outs[qi][b.y0 : b.y1, b.x0 : b.x1] for qi, b in peds])
        predicted = classifier.predict(feats)
        seg = {s: miou(conf[s]) for s in QUERY_SPLITS}
        seg["all"] = miou(sum(conf.values()))
        seg_ref = miou(sum(conf_orig.values()))
        pl = place(feats)
        for s in [*QUERY_SPLITS, "mean"]:
            pl[s]["ratio"] = _ratio(pl[s]["top1"], reference_place[s]["top1"])
        results[method.name] = {
            "description": method.description,
            "params": method.params,
            "place": pl,
            "sequence": {
                "accuracy": float(np.mean(np.asarray(predicted) == np.asarray(q_seq))),
                "per_split": {
                    s: float(np.mean([predicted[r] == q_seq[r] for r in np.flatnonzero(q_split == s)]))
                    for s in QUERY_SPLITS
                },
            },
            "quality": {
                "frechet_mnv2": quality.frechet_distance(orig_mn, feats),
                "kernel_mnv2": quality.kernel_distance(orig_mn, feats, seed=seed),
            },
            "persim": persim(orig_os, anon_os),
            "segmentation": {
                "miou": seg["all"]["miou"],
                "miou_ratio": _ratio(seg["all"]["miou"], seg_ref["miou"]),
                "pixel_acc": seg["all"]["pixel_acc"],
                "per_split": {s: {"miou": seg[s]["miou"], "pixel_acc": seg[s]["pixel_acc"]} for s in QUERY_SPLITS},
            },
            "detection": {"map50": util.map(), "ap50": util.ap()},
            "seconds_per_frame": float(np.mean(seconds)),
            "seconds_per_frame_max": float(np.max(seconds)),
        }
        if method.name in GRID_COLUMNS:
            grid[method.name] = [_tile(outs[r]) for r in grid_rows]
        log.info("%s done", method.name)
    if bar is not None:
        bar.close()
    ref_map = util_orig.map()
    for r in results.values():
        r["detection"]["map50_ratio"] = _ratio(r["detection"]["map50"], ref_map)

    seg_test = miou(conf_orig["test"])
    report = {
        "schema": SCHEMA,
        "tool": f"inspire_ros {__version__}",
        "seed": seed,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "shared": str(shared),
        "sizes": {
            "frames": {s: len(splits[s]) for s in QUERY_SPLITS},
            "frames_option": frames,
            "train_frames": len(train),
            "train_sequences": {s: train.sequences.count(s) for s in sorted(set(train.sequences))},
            "frame_keys": {s: splits[s].names for s in QUERY_SPLITS},
            "pedestrian_regions": len(peds),
            "gt_boxes": {c: sum(1 for gt in gt_boxes for g in gt if g.category == c) for c in ("person", "car")},
        },
        "models": models,
        "svia": {
            "categories": list(base.svia.categories),
            "noise_scale": base.svia.noise_scale,
            "working_size": [base.svia.width, base.svia.height],
            "mask_dilation": base.svia.mask_dilation,
            "use_detections": base.svia.use_detections,
            "harmonize": base.svia.harmonize,
        },
        "pipeline_detector": {
            "model": Path(base.detector.model).name,
            "score_threshold": base.detector.score_threshold,
        },
        "judge": {"model": Path(judge_cfg.model).name, "input_size": getattr(judge, "size", judge_cfg.input_size)},
        "segmenter_originals": {
            "test": seg_test,
            "all": miou(sum(conf_orig.values())),
            "per_split": {s: miou(conf_orig[s]) for s in QUERY_SPLITS},
        },
        "reference": {
            "place": reference_place,
            "sequence_chance": seq_chance,
            "sequence_classes": classifier.classes,
            "map50": ref_map,
            "detection_seconds_per_frame": float(np.mean(det_s)),
            "mask_seconds_per_frame": float(np.mean(mask_s)),
        },
        "definitions": DEFINITIONS,
        "methods": results,
        "wall_s": round(time.perf_counter() - started, 1),
        "cpu": {"count": os.cpu_count(), "load_average_end": [round(x, 2) for x in os.getloadavg()]},
    }
    report["headline"] = headline(report)
    report["targets"] = targets(report)
    return _nan_none(report), _grid_image(grid, [splits[s].names[i] for s, i in (queries[r] for r in grid_rows)])


DEFINITIONS = {
    "place_top1": "location attack: ImageNet MobileNetV2 (1280-d, global average) features, cosine; query = the "
    "anonymized frame, gallery = the ORIGINAL frames of the same split without the query's own original; "
    f"right when the best gallery frame is within +-{WINDOW} frames of the query in the same sequence "
    "(test: ~1 s apart, so +-2 s of driving; val frames are 2/30 s apart, so +-0.13 s there: a near-duplicate "
    "search, the strictest place test; `top1_2s` in report.json uses +-2 s = +-60 video frames instead)",
    "place_ratio": "place top-1 of the method / place top-1 of the originals (query = original frame, own frame "
    "excluded); `mean` = mean of test and val top-1, ratio of those means",
    "place_chance": "expected top-1 of a uniformly random gallery pick under the same exclusion rule",
    "sequence_accuracy": "multinomial logistic regression (numpy, L2 1e-2) on the MobileNetV2 features of the "
    "ORIGINAL train frames (labels = drive: 0001TP, 0006R0, 0016E5), applied to the anonymized val+test "
    "frames (val lies in a 9 s gap of the 0016E5 train frames; test follows the 0001TP train frames); chance = "
    "always answering the train majority drive",
    "frechet_mnv2": "Fréchet distance between whole-frame MobileNetV2 features of original and anonymized "
    "val+test frames: FID's formula, NOT Inception FID",
    "kernel_mnv2": "KID-style unbiased MMD^2 (cubic polynomial kernel) on the same features: NOT Inception KID",
    "persim": "OSNet-x0.25 (MSMT17) cosine similarity between the original and the anonymized crop of each "
    f"ground-truth pedestrian region (CamVid label 9, connected, >= {PEDESTRIAN_MIN_AREA} px), mean",
    "miou": "the SVIA segmenter's mIoU on the anonymized val+test frames against the CamVid labels (11 classes, "
    "unlabelled ignored); miou_ratio = that / the same on the original frames",
    "map50": "judge detector (YOLOX-nano 640) mAP@0.5 for person and car on the anonymized frames against boxes "
    f"of CamVid car (8) / pedestrian (9) regions >= {PEDESTRIAN_MIN_AREA} px (touching instances merge, so "
    "absolute values are low); map50_ratio = / the same on the originals",
    "seconds_per_frame": "wall seconds per 480x360 frame on this machine (CPU): the pipeline detector + the "
    "method (baselines: + SVIA's segmentation for the masks); none: 0. `cpu` in report.json: the machine's load",
    "baselines": "blur/pixelate/fill: baselines.py's box functions applied to each connected region of each "
    "category mask SceneReplacement.masks gives (the pixels SVIA replaces), written inside the masks only",
}

HEADLINE_KEYS = [
    ("place_top1_test", "place.test.top1"),
    ("place_top1_val", "place.val.top1"),
    ("place_top1_mean", "place.mean.top1"),
    ("place_ratio", "place.mean.ratio"),
    ("place_chance", "place.mean.chance"),
    ("sequence_accuracy", "sequence.accuracy"),
    ("frechet_mnv2", "quality.frechet_mnv2"),
    ("kernel_mnv2", "quality.kernel_mnv2"),
    ("persim", "persim"),
    ("miou", "segmentation.miou"),
    ("miou_ratio", "segmentation.miou_ratio"),
    ("map50", "detection.map50"),
    ("map50_ratio", "detection.map50_ratio"),
    ("seconds_per_frame", "seconds_per_frame"),
]
HEADLINE_TITLES = {
    "method": "method",
    "place_top1_test": "place top-1 test",
    "place_top1_val": "place top-1 val",
    "place_top1_mean": "place top-1 mean",
    "place_ratio": "place ratio",
    "place_chance": "place chance",
    "sequence_accuracy": "sequence acc.",
    "frechet_mnv2": "Fréchet (MNv2)",
    "kernel_mnv2": "kernel (MNv2)",
    "persim": "PerSim",
    "miou": "mIoU anon.",
    "miou_ratio": "mIoU ratio",
    "map50": "mAP@0.5",
    "map50_ratio": "mAP ratio",
    "seconds_per_frame": "s/frame",
}


def _get(d, dotted: str):
    for k in dotted.split("."):
        d = d.get(k) if isinstance(d, dict) else None
    return d


def headline(report: dict) -> list[dict]:
    return [{"method": n, **{k: _get(m, p) for k, p in HEADLINE_KEYS}} for n, m in report["methods"].items()]


def targets(report: dict) -> list[dict]:
    """The SVIA targets, for every SVIA-based method evaluated."""
    out = []
    for name, m in report["methods"].items():
        if not (name in ("svia", "hybrid") or name.startswith("svia-b")):
            continue
        checks = [
            ("place top-1 <= 0.3x originals' (mean of test, val)", _get(m, "place.mean.ratio"), "<=", "place_ratio"),
            ("segmentation mIoU >= 0.85x originals'", _get(m, "segmentation.miou_ratio"), ">=", "miou_ratio"),
            ("<= 1 s per 480x360 frame", m.get("seconds_per_frame"), "<=", "seconds_per_frame"),
        ]
        for what, value, op, key in checks:
            bound = TARGETS[key]
            met = None if value is None else (value <= bound if op == "<=" else value >= bound)
            out.append({"method": name, "target": what, "key": key, "bound": bound, "value": value, "met": met})
    return out


# ---------------------------------------------------------------------------------------
# Outputs


def _grid_rows(q_split: np.ndarray) -> list[int]:
    rows = np.flatnonzero(q_split == "test")
    if len(rows) == 0:
        rows = np.arange(len(q_split))
    return [int(rows[i]) for i in choose(len(rows), GRID_ROWS, "spread")]


def _tile(image: np.ndarray, interpolation: int = cv2.INTER_AREA) -> np.ndarray:
    return cv2.resize(image, GRID_TILE, interpolation=interpolation)


def _grid_image(grid: dict[str, list[np.ndarray]], row_names: list[str]) -> np.ndarray:
    """Rows = frames, columns = original, segmentation and the methods (paper's Fig. 5)."""
    cols = [c for c in GRID_COLUMNS if c in grid]
    w, h = GRID_TILE
    head, gap = 24, 4
    canvas = np.full((head + len(row_names) * (h + gap), len(cols) * (w + gap) - gap, 3), 255, np.uint8)
    for c, name in enumerate(cols):
        x = c * (w + gap)
        cv2.putText(canvas, name, (x + 4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
        for r, tile in enumerate(grid[name]):
            y = head + r * (h + gap)
            canvas[y : y + h, x : x + w] = tile
            if c == 0:
                cv2.putText(canvas, row_names[r], (x + 3, y + h - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3)
                cv2.putText(canvas, row_names[r], (x + 3, y + h - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1)
    return canvas


_DECIMALS = {**DECIMALS, "kernel_mnv2": 4}


def _fmt(v, key: str = "") -> str:
    if isinstance(v, bool):  # a target
        return "met" if v else "NOT met"
    return cell(v, key, _DECIMALS)


def markdown_table(rows: list[dict]) -> str:
    keys = ["method", *(k for k, _ in HEADLINE_KEYS)]
    lines = ["| " + " | ".join(HEADLINE_TITLES[k] for k in keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_fmt(r.get(k), k) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def targets_table(rows: list[dict]) -> str:
    lines = ["| method | target | value | status |", "|---|---|---|---|"]
    for t in rows:
        status = "–" if t["met"] is None else ("met" if t["met"] else "NOT met")
        lines.append(f"| {t['method']} | {t['target']} | {_fmt(t['value'])} | {status} |")
    return "\n".join(lines)


def iou_table(seg: dict) -> str:
    classes = [c for c in CAMVID_CLASSES if c in seg["test"]]
    lines = ["| class | IoU test | IoU val+test |", "|---|---|---|"]
    for c in classes:
        lines.append(f"| {c} | {_fmt(seg['test'].get(c))} | {_fmt(seg['all'].get(c))} |")
    lines.append(f"| **mIoU** | {_fmt(seg['test']['miou'])} | {_fmt(seg['all']['miou'])} |")
    lines.append(f"| pixel acc. | {_fmt(seg['test']['pixel_acc'])} | {_fmt(seg['all']['pixel_acc'])} |")
    return "\n".join(lines)


def markdown(report: dict, grid_file: str) -> str:
    s, ref, models = report["sizes"], report["reference"], report["models"]
    place = ref["place"]
    # Exports of untrained weights (development placeholders) carry no training record.
    untrained = [k for k, m in models.items() if not m.get("shipped") or not m.get("training")]
    model_line = ", ".join(f"{k} {m.get('model')} ({(m.get('sha256') or '')[:12]})" for k, m in models.items())
    lines = [
        "# inspire eval scene (SVIA on CamVid)",
        "",
        f"{report['tool']}, seed {report['seed']}, {report['created_utc']}, {report['wall_s']} s "
        f"({report['cpu']['count']} CPUs, load average at the end {report['cpu']['load_average_end'][0]}).",
        "",
        f"Frames: test {s['frames']['test']}, val {s['frames']['val']} (queries; each split its own gallery); "
        f"sequence classifier trained on {s['train_frames']} original train frames "
        f"({', '.join(f'{k} {v}' for k, v in s['train_sequences'].items())}). "
        f"{s['pedestrian_regions']} pedestrian regions for PerSim.",
        f"SVIA models: {model_line}."
        + (
            f" **No training record in models/manifest.yaml for: {', '.join(untrained)} (untrained or not "
            "the shipped models): these figures do not describe the shipped SVIA.**"
            if untrained
            else ""
        ),
        f"SVIA: categories {', '.join(report['svia']['categories'])}, Laplace b={report['svia']['noise_scale']:g}, "
        f"working size {report['svia']['working_size'][0]}x{report['svia']['working_size'][1]}, "
        f"harmonize {report['svia']['harmonize']}.",
        f"Originals: place top-1 test {_fmt(place['test']['top1'])} (chance {_fmt(place['test']['chance'])}), "
        f"val {_fmt(place['val']['top1'])} (chance {_fmt(place['val']['chance'])}); sequence chance "
        f"(majority drive) {_fmt(ref['sequence_chance'])}; judge mAP@0.5 {_fmt(ref['map50'])}.",
        "",
        "## Targets",
        "",
        targets_table(report["targets"]),
        "",
        "## Methods",
        "",
        markdown_table(report["headline"]),
        "",
        "Lower is more private for place top-1/ratio, sequence accuracy and PerSim; higher is better for mIoU and "
        "mAP; lower Fréchet/kernel = anonymized frames look more like the originals (whole-frame MobileNetV2 "
        "features, not Inception FID/KID).",
        "",
        "## Segmenter IoU per class (original frames)",
        "",
        iou_table(report["segmenter_originals"]),
        "",
        "## Definitions",
        "",
        *[f"- **{k}**: {v}" for k, v in report["definitions"].items()],
        "",
        f"![examples]({grid_file})",
        "",
    ]
    return "\n".join(lines)


GRID_FILE = "examples_grid.png"


def _write(path: Path, data: bytes) -> None:
    """Atomically: a temporary sibling renamed over `path` when complete."""
    out = AtomicPath(path)
    try:
        out.tmp.write_bytes(data)
        out.commit()
    finally:
        out.discard()


def write_all(out: Path, report: dict, grid: np.ndarray) -> list[str]:
    """GRID_FILE, summary.md and (last) report.json into `out`, each replaced atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ok, png = cv2.imencode(".png", grid)
    if not ok:
        raise EvalError("cannot encode the example grid as PNG")
    files = [GRID_FILE, "summary.md", "report.json"]
    report["files"] = files
    _write(out / GRID_FILE, png.tobytes())
    _write(out / "summary.md", markdown(report, GRID_FILE).encode())
    _write(out / "report.json", (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode())
    return files


def run_scene_eval(out: Path, **kwargs) -> dict:
    """Evaluate (`evaluate`'s keyword arguments) and write the outputs into `out`."""
    report, grid = evaluate(**kwargs)
    write_all(Path(out), report, grid)
    return report


__all__ = ["METHODS", "evaluate", "run_scene_eval", "place_attack", "SequenceClassifier", "obfuscate_masks"]
