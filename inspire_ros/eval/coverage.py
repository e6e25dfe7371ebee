"""Coverage: how many ground-truth people and cars each preset leaves unreplaced, on sequences
processed as the product processes them, and what that costs (`inspire coverage`).

A sequence is anonymized as one stream, in order, with its preset's detector, tracker and
look-ahead (`sequence.Stream`, exactly as `inspire anonymize` does for a video): pass 1 runs
the detector over every frame when look-ahead is on, pass 2 re-reads the frames and replaces.
Only the annotated frames are scored, and only what scoring needs is kept of them (leak
fractions, person crops for the re-identification attack, the judge's detections): memory
does not grow with the sequence.

- PETS09 S2L1 (`vtest.avi`, frames 0..N-1; MOT15 person boxes every 5th frame): leak by box
  cover (a person's box area outside every replaced instance's box), as `leak.py` does.
- CamVid val (0016E5) and test (0001TP), frames sorted by name (about 1 s apart): connected
  Car/Pedestrian label regions of >= 50 px, leak by pixel mask.
Leaked: more than 20 % unreplaced; missed: more than 80 % (found by nothing, not just a box a
little tighter than the annotation). CamVid also gets the leak by replaced *boxes* (as if every
replaced box were replaced whole): what the detector/tracker covered, apart from the mask the
extractor kept. Sizes by ground-truth box height: small < 64 px, medium 64-127, large >= 128.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .. import __version__
from .. import config as config_mod
from ..datasets import (
    GtInstance,
    camvid_images,
    camvid_instances,
    camvid_label_path,
    camvid_root,
    crop,
    pets09_gt,
    pets09_split,
    require,
)
from ..paths import default_config_path, pets09_video, shared_dir
from ..pipeline import Anonymizer
from ..sequence import Stream, detect_all, stream_salt
from ..types import Instance
from . import EvalError, reid
from .leak import LEAK_THRESHOLD, leak_rate, unreplaced_fractions
from .run import MODES, JudgeSettings, _nan_none, build_judge
from .utility import UtilityAccumulator

log = logging.getLogger(__name__)

SCHEMA = "inspire_ros.coverage/1"
PRESETS = tuple(config_mod.PRESETS)
CATEGORIES = ("person", "car")
# Ground-truth box height in pixels: [lo, hi).
BUCKETS: dict[str, tuple[int, int | None]] = {"small": (0, 64), "medium": (64, 128), "large": (128, None)}
MISS_THRESHOLD = 0.8  # more than this unreplaced: the instance was essentially not found
PETS09_FRAMES = 795
FRAME_HW = {"pets09": (576, 768), "camvid": (360, 480)}
CAMVID_SPLITS = ("val", "test")
CAMVID_MIN_AREA = 50
# Re-identification split of the annotated PETS09 frames, as `inspire eval --mode full`.
REID_QUERY_STEP = MODES["full"].pets09_query_step
REID_GALLERY_STEP = MODES["full"].pets09_gallery_step

DEFINITIONS = {
    "leak_rate": f"share of ground-truth instances more than {LEAK_THRESHOLD:.0%} unreplaced (PETS09 person "
    "boxes: box area outside the union of replaced instances' boxes; CamVid regions: pixels outside every "
    "replaced mask); a frame that failed and was blanked or dropped leaks nothing (counted in frames_failed)",
    "miss_rate": f"share of ground-truth instances more than {MISS_THRESHOLD:.0%} unreplaced (not found at all, "
    "as opposed to a replaced box a little tighter than the annotation)",
    "box_leak": "CamVid: the leak rate with every replaced instance counted as its whole box (what detection and "
    "tracking covered, independent of the extractor's mask)",
    "size": "ground-truth box height: small < 64 px, medium 64-127 px, large >= 128 px",
    "fps": "frames / seconds of stream processing (look-ahead detection pass + replacement pass), video "
    "decoding and the evaluation itself excluded; fps_with_decode includes decoding",
    "detect_fps": "frames / seconds in the detector (look-ahead: pass 1; otherwise the detect stage of each "
    "frame, tracker included)",
    "fps_ratio_to_detector_none": "fps / detector-only fps of the none preset on the same frames",
    "cpu_ms_per_frame": "CPU time of every thread of the process in the same stream processing, per frame "
    "(less sensitive than fps to other load on the machine)",
    "reid_thwarting": "PETS09 re-id attack (OSNet-x0.25 MSMT17): 1 - rank-1 of anonymized ground-truth person "
    f"crops of every {REID_QUERY_STEP}th annotated frame against the original crops of the other annotated frames",
    "map50": "judge (YOLOX-nano dynamic, 640) mAP@0.5 over person and car on the anonymized annotated frames "
    "against the judge on the original frames",
    "count_accuracy": "1 - sum |judge count anonymized - judge count original| / sum original count",
    "receipt": "what the stream replaced and why: detected, confirmed (low-score box a track confirms), "
    "coasted (live), filled and extended (look-ahead)",
}


def bucket_of(height: int) -> str:
    for name, (lo, hi) in BUCKETS.items():
        if height >= lo and (hi is None or height < hi):
            return name
    raise ValueError(f"negative box height {height}")


# ---------------------------------------------------------------------------------------
# Leak tally


@dataclass
class LeakTally:
    """Unreplaced fractions of ground-truth instances, by category and size bucket."""

    fractions: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def add(self, gt: list[GtInstance], fractions: list[float]) -> None:
        for g, f in zip(gt, fractions, strict=True):
            self.fractions.setdefault((g.category, bucket_of(g.box.height)), []).append(float(f))

    def add_frame(self, shape: tuple[int, ...], gt: list[GtInstance], instances: list[Instance]) -> list[float]:
        fractions = unreplaced_fractions(shape, gt, instances)
        self.add(gt, fractions)
        return fractions

    def merged(self, other: LeakTally) -> LeakTally:
        out = LeakTally({k: list(v) for k, v in self.fractions.items()})
        for k, v in other.fractions.items():
            out.fractions.setdefault(k, []).extend(v)
        return out

    def _select(self, category: str | None = None, size: str | None = None) -> list[float]:
        return [
            f
            for (c, b), fs in self.fractions.items()
            if (category is None or c == category) and (size is None or b == size)
            for f in fs
        ]

    @staticmethod
    def _stats(fractions: list[float]) -> dict:
        return {
            "leak_rate": leak_rate(fractions),
            "instances": len(fractions),
            "leaked": int(np.sum(np.asarray(fractions) > LEAK_THRESHOLD)) if fractions else 0,
            "miss_rate": leak_rate(fractions, MISS_THRESHOLD),
            "missed": int(np.sum(np.asarray(fractions) > MISS_THRESHOLD)) if fractions else 0,
            "mean_unreplaced": float(np.mean(fractions)) if fractions else float("nan"),
        }

    def summary(self, categories: tuple[str, ...] = CATEGORIES) -> dict:
        def block(category: str | None) -> dict:
            return {
                **self._stats(self._select(category)),
                "by_size": {b: self._stats(self._select(category, b)) for b in BUCKETS},
            }

        return {**block(None), "by_category": {c: block(c) for c in categories}}


# ---------------------------------------------------------------------------------------
# Sequences


@dataclass
class Sequence:
    """One stream of frames with ground truth on some of them."""

    name: str  # also keys the stream's per-track latents (stream_salt)
    dataset: str  # pets09 | camvid
    length: int
    read: Callable[[], Iterator[np.ndarray]]  # a fresh pass over frames 0..length-1, in order
    annotated: list[int]  # frame indices with ground truth
    ground_truth: Callable[[int], list[GtInstance]]
    annotated_set: set[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.annotated_set = set(self.annotated)


def pets09_sequence(shared: Path, frames: int | None = None) -> Sequence:
    video = require(pets09_video(shared), "PETS09 video")
    n = PETS09_FRAMES if frames is None else frames
    if not 1 <= n <= PETS09_FRAMES:
        raise EvalError(f"--pets-frames must be in [1, {PETS09_FRAMES}] (the video's frames), got {n}")
    gt = {f - 1: boxes for f, boxes in pets09_gt(shared).items() if f - 1 < n}  # MOT frames are 1-based

    def read() -> Iterator[np.ndarray]:
        cap = cv2.VideoCapture(str(video))
        try:
            for i in range(n):
                ok, frame = cap.read()
                if not ok:
                    raise EvalError(f"{video} ended at frame {i}; --pets-frames asks for {n}")
                yield frame
        finally:
            cap.release()

    return Sequence("pets09_s2l1/vtest.avi", "pets09", n, read, sorted(gt), gt.__getitem__)


def camvid_sequences(shared: Path, limit: int | None = None) -> list[Sequence]:
    """The val and test splits, each one sequence per name prefix (0016E5, 0001TP), sorted by name."""
    root = camvid_root(shared)
    out = []
    for split in CAMVID_SPLITS:
        by_sequence: dict[str, list[Path]] = {}
        for p in camvid_images(root, split):
            by_sequence.setdefault(p.stem.split("_")[0], []).append(p)
        for seq, paths in by_sequence.items():
            paths = paths[:limit]
            labels = [camvid_label_path(p) for p in paths]
            out.append(
                Sequence(
                    f"camvid/{split}/{seq}",
                    "camvid",
                    len(paths),
                    _image_reader(paths),
                    list(range(len(paths))),
                    _camvid_gt(labels),
                )
            )
    return out


def _image_reader(paths: list[Path]) -> Callable[[], Iterator[np.ndarray]]:
    def read() -> Iterator[np.ndarray]:
        for p in paths:
            frame = cv2.imread(str(p))
            if frame is None:
                raise EvalError(f"cannot decode {p}: the shared data is damaged")
            yield frame

    return read


def _camvid_gt(labels: list[Path]) -> Callable[[int], list[GtInstance]]:
    def ground_truth(i: int) -> list[GtInstance]:
        label = cv2.imread(str(labels[i]), cv2.IMREAD_GRAYSCALE)
        if label is None:
            raise EvalError(f"cannot decode {labels[i]}: the shared data is damaged")
        return camvid_instances(label, CAMVID_MIN_AREA)

    return ground_truth


@dataclass
class _Spent:
    """Wall and CPU seconds (CPU: every thread of this process; less sensitive to other load)."""

    wall: float = 0.0
    cpu: float = 0.0

    @staticmethod
    def now() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def since(self, start: tuple[float, float]) -> None:
        wall, cpu = self.now()
        self.wall += wall - start[0]
        self.cpu += cpu - start[1]


class _Timed:
    """Iterates frames and adds the time spent producing them (decoding) to `spent`."""

    def __init__(self, frames: Iterator[np.ndarray]):
        self.frames = frames
        self.spent = _Spent()

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            start = _Spent.now()
            try:
                frame = next(self.frames)
            except StopIteration:
                self.spent.since(start)
                return
            self.spent.since(start)
            yield frame


# ---------------------------------------------------------------------------------------
# Scoring what a stream produced


@dataclass
class Attack:
    """PETS09 re-identification: queries are the ground-truth persons of the query frames."""

    query_frames: set[int]  # 0-based indices
    gallery_frames: set[int]
    gallery: list[np.ndarray] = field(default_factory=list)  # original crops
    gallery_ids: list[int] = field(default_factory=list)
    originals: list[np.ndarray] = field(default_factory=list)  # original query crops
    query_ids: list[int] = field(default_factory=list)
    collected: bool = False  # the originals come from the first stream that reads the frames
    _gallery_features: np.ndarray | None = None

    def gallery_features(self, features) -> np.ndarray:
        if self._gallery_features is None:
            self._gallery_features = features(self.gallery)
        return self._gallery_features

    @classmethod
    def for_sequence(cls, seq: Sequence) -> Attack:
        gt = {i + 1: seq.ground_truth(i) for i in seq.annotated}  # pets09_split works on MOT frame numbers
        query, gallery = pets09_split(gt, REID_QUERY_STEP, None, REID_GALLERY_STEP)
        return cls({f - 1 for f in query}, {f - 1 for f in gallery})


class Scorer:
    """What one preset's stream over one sequence is scored on, frame by frame."""

    def __init__(self, seq: Sequence, attack: Attack | None, judge, reference: dict | None):
        self.seq = seq
        self.leak = LeakTally()
        self.box = LeakTally()  # replaced instances counted as whole boxes (differs from leak where GT has masks)
        self.failed: list[str] = []
        self.attack = attack
        self.queries: list[np.ndarray] = []  # anonymized query crops
        self.judge = judge
        self.reference = reference  # (sequence, index) -> judge detections on the original, shared by presets
        self.utility = UtilityAccumulator(CATEGORIES) if judge is not None else None

    def frame(self, i: int, frame: np.ndarray, out: np.ndarray | None, instances: list[Instance], error) -> None:
        attack = self.attack
        if attack is not None and not attack.collected and i in attack.gallery_frames:
            for g in self.seq.ground_truth(i):
                attack.gallery.append(crop(frame, g.box).copy())
                attack.gallery_ids.append(g.identity)
        if i not in self.seq.annotated_set:
            return
        gt = self.seq.ground_truth(i)
        if error is not None:
            # Fail closed: the frame was blanked (or dropped), so nobody in it is seen.
            self.failed.append(f"frame {i}: {error}")
            self.leak.add(gt, [0.0] * len(gt))
            self.box.add(gt, [0.0] * len(gt))
        else:
            self.leak.add_frame(frame.shape, gt, instances)
            self.box.add_frame(frame.shape, gt, [dataclasses.replace(x, mask=None) for x in instances])
        shown = out if out is not None else np.zeros_like(frame)
        if attack is not None and i in attack.query_frames:
            for g in gt:
                self.queries.append(crop(shown, g.box).copy())
                if not attack.collected:
                    attack.originals.append(crop(frame, g.box).copy())
                    attack.query_ids.append(g.identity)
        if self.judge is not None:
            key = (self.seq.name, i)
            if key not in self.reference:
                self.reference[key] = self.judge.detect(frame)
            self.utility.add(self.reference[key], self.judge.detect(shown) if out is not None else [])


@dataclass
class StreamRun:
    frames: int
    seconds: float  # stream processing: detection pass + replacement pass, decoding excluded
    cpu_seconds: float  # the same in CPU time of all threads
    decode_seconds: float
    detect_seconds: float
    receipt: dict
    scorer: Scorer

    def timing(self) -> dict:
        return {
            "frames": self.frames,
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "cpu_ms_per_frame": 1000 * self.cpu_seconds / self.frames,
            "decode_seconds": self.decode_seconds,
            "detect_seconds": self.detect_seconds,
            "fps": self.frames / self.seconds if self.seconds > 0 else float("nan"),
            "fps_with_decode": self.frames / (self.seconds + self.decode_seconds),
            "detect_fps": self.frames / self.detect_seconds if self.detect_seconds > 0 else float("nan"),
        }


def run_stream(anonymizer: Anonymizer, seq: Sequence, scorer: Scorer, seed: int, tick=None) -> StreamRun:
    """Anonymize `seq` as the product does (look-ahead: two passes over the frames) and score
    each annotated frame as it goes by."""
    detected, detect_s, decode_s = None, 0.0, 0.0
    work = _Spent()  # detection pass and replacement pass, decoding excluded
    if anonymizer.cfg.lookahead.enabled:
        frames = _Timed(seq.read())
        start = _Spent.now()
        detected = detect_all(anonymizer, frames, tick)
        work.since(start)
        work.wall -= frames.spent.wall
        work.cpu -= frames.spent.cpu
        detect_s, decode_s = work.wall, frames.spent.wall
        if len(detected.candidates) != seq.length:
            raise EvalError(f"{seq.name}: the detection pass saw {len(detected.candidates)} of {seq.length} frames")
    start = _Spent.now()
    stream = Stream(anonymizer, detected, salt=stream_salt(seed, seq.name))
    work.since(start)
    timings: dict[str, float] = {}
    frames = _Timed(seq.read())
    name_key = zlib.crc32(seq.name.encode())
    n = 0
    for i, frame in enumerate(frames):
        rng = np.random.default_rng([seed, name_key, i])
        start = _Spent.now()
        out, instances, error = stream.anonymize(frame, i, rng=rng, timings=timings)
        work.since(start)
        scorer.frame(i, frame, out, instances, error)
        n += 1
        if tick:
            tick()
    decode_s += frames.spent.wall
    if n != seq.length:
        raise EvalError(f"{seq.name}: the replacement pass saw {n} of {seq.length} frames")
    if detected is None:
        detect_s = timings.get("detect", 0.0) / 1000
    return StreamRun(n, work.wall, work.cpu, decode_s, detect_s, stream.receipt.to_dict(), scorer)


def detector_only_fps(anonymizer: Anonymizer, seq: Sequence) -> float:
    """Frames per second of the detector alone (decoding excluded)."""
    seconds = 0.0
    n = 0
    for frame in seq.read():
        t = time.perf_counter()
        anonymizer.detect(frame)
        seconds += time.perf_counter() - t
        n += 1
    return n / seconds if seconds > 0 else float("nan")


# ---------------------------------------------------------------------------------------
# Orchestration


def load_preset(config_path: Path, preset: str, seed: int, shared: Path) -> config_mod.Config:
    cfg = config_mod.load(config_path, preset)
    if cfg.preset != preset:
        raise config_mod.ConfigError(
            f"{config_path} sets preset: {cfg.preset}, which wins over --presets; "
            "give a config file that leaves preset out (or null) to compare presets"
        )
    changes: dict = {"seed": seed}
    local = shared / "models" / Path(cfg.detector.model).name
    if not Path(cfg.detector.model).is_absolute() and local.is_file():  # --shared names where the models are, too
        changes["detector.model"] = str(local)
    return cfg.replace(**changes)


def _config_summary(cfg: config_mod.Config, anonymizer: Anonymizer) -> dict:
    d = cfg.detector
    return {
        "method": cfg.method,
        "detector": {
            "model": Path(d.model).name,
            "input_size": d.input_size,
            "fit_frame": d.fit_frame,
            "tiles": d.tiles.enabled,
            "score_threshold": d.score_threshold,
            "low_score_threshold": d.low_score_threshold,
            "kind": type(anonymizer.detector).__name__,
            # Per dataset frame size: detector runs per frame (tiles + full frame) and the network input.
            "geometry": {ds: _geometry(anonymizer.detector, *hw) for ds, hw in FRAME_HW.items()},
        },
        "tracking": cfg.tracking.enabled,
        "lookahead": cfg.lookahead.enabled,
    }


def _geometry(detector, height: int, width: int) -> dict:
    passes = detector.passes(width, height) if hasattr(detector, "passes") else 1
    inner = getattr(detector, "inner", detector)
    shape = inner.input_shape(height, width) if hasattr(inner, "input_shape") else None
    return {"frame_hw": [height, width], "passes": passes, "input_hw": list(shape) if shape else None}


def evaluate(
    presets: list[str] | None = None,
    config_path: Path | None = None,
    pets_frames: int | None = None,
    camvid: bool = True,
    camvid_frames: int | None = None,
    with_reid: bool = False,
    with_utility: bool = False,
    seed: int = 0,
    shared: Path | None = None,
    progress: bool = False,
) -> dict:
    started = time.perf_counter()
    presets = list(presets or PRESETS)
    unknown = [p for p in presets if p not in config_mod.PRESETS]
    if unknown:
        raise EvalError(f"unknown preset {unknown[0]!r}; known: {', '.join(config_mod.PRESETS)}")
    if len(set(presets)) != len(presets):
        raise EvalError(f"a preset is named twice in {presets}")
    shared = Path(shared) if shared else shared_dir()
    config_path = Path(config_path) if config_path else default_config_path()

    # Data and configs first: a missing file or a bad config fails before any model loads.
    pets = pets09_sequence(shared, pets_frames)
    sequences = [pets] + (camvid_sequences(shared, camvid_frames) if camvid else [])
    configs = {p: load_preset(config_path, p, seed, shared) for p in presets}
    attack = Attack.for_sequence(pets) if with_reid else None
    osnet = reid.OsnetFeatures(shared) if with_reid else None
    judge = build_judge(JudgeSettings(), shared)[0] if with_utility else None
    reference: dict = {}

    bar = None
    if progress:
        from tqdm import tqdm

        passes = sum(1 + configs[p].lookahead.enabled for p in presets)
        bar = tqdm(total=passes * sum(s.length for s in sequences), unit="frame", desc="coverage")
    results: dict[str, dict] = {}
    for preset in presets:
        t0 = time.perf_counter()
        anonymizer = Anonymizer(configs[preset])
        runs = {}
        for seq in sequences:
            scorer = Scorer(seq, attack if seq is pets else None, judge, reference)
            runs[seq.name] = run_stream(anonymizer, seq, scorer, seed, bar.update if bar is not None else None)
            if attack is not None and seq is pets:
                attack.collected = True
        results[preset] = _preset_report(configs[preset], anonymizer, pets, sequences, runs, attack, osnet)
        results[preset]["seconds"] = time.perf_counter() - t0
        log.info("%s done in %.1f s", preset, results[preset]["seconds"])
    if bar is not None:
        bar.close()

    # Detector-only speed of the none preset on the PETS09 frames, for the cost ratio.
    if "none" in results:
        det_none = results["none"]["datasets"]["pets09"]["timing"]["detect_fps"]
    else:
        det_none = detector_only_fps(Anonymizer(load_preset(config_path, "none", seed, shared)), pets)
    for r in results.values():
        r["fps_ratio_to_detector_none"] = r["fps"] / det_none

    report = {
        "schema": SCHEMA,
        "tool": f"inspire_ros {__version__}",
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": str(config_path),
        "seed": seed,
        "shared": str(shared),
        "leak_threshold": LEAK_THRESHOLD,
        "miss_threshold": MISS_THRESHOLD,
        "buckets": {k: list(v) for k, v in BUCKETS.items()},
        "definitions": DEFINITIONS,
        "data": _data_report(sequences, next(iter(results.values()))),
        "reference": {"detector_fps_none": det_none},
        "presets": results,
    }
    if attack is not None:
        gallery_os = attack.gallery_features(osnet)
        r1 = reid.rank1(osnet(attack.originals), attack.query_ids, gallery_os, attack.gallery_ids)
        report["reference"]["reid_pets09_unanonymized"] = {
            "rank1": r1,
            "thwarting_rate": 1 - r1,
            "chance_rank1": reid.chance_rank1(attack.query_ids, attack.gallery_ids),
            "queries": len(attack.query_ids),
            "query_frames": len(attack.query_frames),
            "gallery_crops": len(attack.gallery),
            "gallery_frames": len(attack.gallery_frames),
        }
    if judge is not None:
        report["judge"] = {"model": JudgeSettings().model, "input_size": JudgeSettings().input_size}
    report["wall_s"] = time.perf_counter() - started
    return _nan_none(report)


def _data_report(sequences: list[Sequence], first: dict) -> dict:
    """Frames and ground-truth instances per dataset (the counts are the same for every preset)."""
    out: dict = {}
    for seq in sequences:
        d = out.setdefault(seq.dataset, {"frames": 0, "annotated_frames": 0, "sequences": {}})
        d["frames"] += seq.length
        d["annotated_frames"] += len(seq.annotated)
        d["sequences"][seq.name] = {"frames": seq.length, "annotated_frames": len(seq.annotated)}
    for ds, d in out.items():
        d["gt_instances"] = {
            cat: {"all": c["instances"], **{b: c["by_size"][b]["instances"] for b in BUCKETS}}
            for cat, c in first["datasets"][ds]["leak"]["by_category"].items()
        }
    return out


def _preset_report(cfg, anonymizer, pets, sequences, runs: dict[str, StreamRun], attack, osnet) -> dict:
    datasets: dict[str, dict] = {}
    for ds in dict.fromkeys(s.dataset for s in sequences):
        members = [s for s in sequences if s.dataset == ds]
        tally, box = LeakTally(), LeakTally()
        for s in members:
            tally = tally.merged(runs[s.name].scorer.leak)
            box = box.merged(runs[s.name].scorer.box)
        categories = ("person",) if ds == "pets09" else CATEGORIES
        entry: dict = {"leak": tally.summary(categories)}
        if ds != "pets09":  # PETS09 ground truth is boxes: its leak is already by box cover
            entry["box_leak"] = box.summary(categories)
        entry |= {
            "frames_failed": sum(len(runs[s.name].scorer.failed) for s in members),
            "first_failure": next((f for s in members for f in runs[s.name].scorer.failed), None),
        }
        if ds == "pets09":
            entry["timing"] = runs[pets.name].timing()
            entry["receipt"] = runs[pets.name].receipt
        else:
            frames = sum(runs[s.name].frames for s in members)
            seconds = sum(runs[s.name].seconds for s in members)
            entry["timing"] = {"frames": frames, "seconds": seconds, "fps": frames / seconds if seconds else None}
            entry["sequences"] = {
                s.name: {
                    "leak": runs[s.name].scorer.leak.summary(categories),
                    "receipt": runs[s.name].receipt,
                    "timing": runs[s.name].timing(),
                }
                for s in members
            }
        util = [runs[s.name].scorer.utility for s in members if runs[s.name].scorer.utility is not None]
        if util:
            acc = UtilityAccumulator(CATEGORIES)
            for u in util:
                for c in CATEGORIES:
                    acc.scores[c] += u.scores[c]
                    acc.tp[c] += u.tp[c]
                    acc.n_gt[c] += u.n_gt[c]
                    acc.counts[c] += u.counts[c]
            entry["utility"] = {
                "map50": acc.map(),
                "ap50": acc.ap(),
                "count_accuracy": acc.count_accuracy(),
                "count_exact": acc.count_exact(),
                "frames": len(acc.counts[CATEGORIES[0]]),
            }
        datasets[ds] = entry
    if attack is not None:
        queries = runs[pets.name].scorer.queries
        r1 = reid.rank1(osnet(queries), attack.query_ids, attack.gallery_features(osnet), attack.gallery_ids)
        datasets["pets09"]["reid"] = {"rank1": r1, "thwarting_rate": 1 - r1, "queries": len(queries)}
    timing = datasets["pets09"]["timing"]
    return {"config": _config_summary(cfg, anonymizer), "fps": timing["fps"], "datasets": datasets}


# ---------------------------------------------------------------------------------------
# Output


def write_json(path: Path, report: dict) -> None:
    """Atomically: a temporary sibling renamed over `path` when complete."""
    from ..io.media import AtomicPath

    out = AtomicPath(Path(path))
    try:
        out.tmp.write_text(json.dumps(report, indent=1))
        out.commit()
    finally:
        out.discard()


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _cell(stats: dict) -> str:
    return f"{_pct(stats['leak_rate'])} ({stats['leaked']})" if stats["instances"] else "-"


def tables(report: dict) -> str:
    """Markdown tables: leak per preset, dataset, category and size; cost and receipts; privacy/utility."""
    lines = [
        "Ground-truth instances (annotated frames) by GT box height: small < 64 px, medium 64-127, large >= 128",
        "",
        "| dataset | category | frames | all | small | medium | large |",
        "|---|---|---|---|---|---|---|",
    ]
    for ds, d in report["data"].items():
        for cat, n in d.get("gt_instances", {}).items():
            sizes = " | ".join(str(n[b]) for b in BUCKETS)
            lines.append(f"| {ds} | {cat} | {d['annotated_frames']} | {n['all']} | {sizes} |")
    lines += [
        "",
        f"Leak rate: GT instances > {report['leak_threshold']:.0%} unreplaced (leaked count); missed: "
        f"> {report['miss_threshold']:.0%} unreplaced; CamVid box leak: replaced instances taken as whole boxes",
        "",
        "| preset | dataset | category | leak | small | medium | large | missed | box leak | box leak small |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in report["presets"].items():
        for ds, d in r["datasets"].items():
            for cat, c in d["leak"]["by_category"].items():
                sizes = " | ".join(_cell(c["by_size"][b]) for b in BUCKETS)
                box = d.get("box_leak", {}).get("by_category", {}).get(cat)
                boxes = f"{_pct(box['leak_rate'])} | {_pct(box['by_size']['small']['leak_rate'])}" if box else "- | -"
                lines.append(
                    f"| {name} | {ds} | {cat} | {_cell(c)} | {sizes} | {_pct(c['miss_rate'])} ({c['missed']}) | "
                    f"{boxes} |"
                )
    lines += [
        "",
        "Cost (PETS09 S2L1 768x576; detector: network input HxW on that frame; fps = frames / (detection pass + "
        "replacement), decoding excluded) and receipt (PETS09 instances replaced, by source)",
        "",
        "| preset | detector | fps | x det-only none | CPU ms/frame | detect fps | CamVid fps | failed frames | "
        "receipt person | receipt car | tracks | gaps filled |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in report["presets"].items():
        p = r["datasets"]["pets09"]
        t, rec, det = p["timing"], p["receipt"], r["config"]["detector"]
        cam = r["datasets"].get("camvid", {}).get("timing", {}).get("fps")
        failed = sum(d["frames_failed"] for d in r["datasets"].values())
        geo = det["geometry"]["pets09"]
        net = "x".join(map(str, geo["input_hw"])) if geo["input_hw"] else det["input_size"]
        kind = f"{det['model'].removesuffix('.onnx')} {net}" + (
            f" tiles ({geo['passes']} pass)" if det["tiles"] else ""
        )
        kind += (" +track" if r["config"]["tracking"] else "") + (" +lookahead" if r["config"]["lookahead"] else "")
        src = {c: ", ".join(f"{k} {v}" for k, v in rec["instances"].get(c, {}).items()) or "-" for c in CATEGORIES}
        lines.append(
            f"| {name} | {kind} | {t['fps']:.1f} | {r['fps_ratio_to_detector_none']:.2f} | "
            f"{t['cpu_ms_per_frame']:.0f} | {t['detect_fps']:.1f} | "
            f"{'-' if cam is None else f'{cam:.1f}'} | {failed} | {src['person']} | {src['car']} | "
            f"{rec['tracks']} | {rec['gaps_filled']} ({rec['gap_frames_filled']} frames) |"
        )
    lines.append(f"\ndetector-only fps of the none preset: {report['reference']['detector_fps_none']:.1f}")
    ref = report["reference"].get("reid_pets09_unanonymized")
    has_util = any("utility" in d for r in report["presets"].values() for d in r["datasets"].values())
    if ref or has_util:
        lines += [
            "",
            "Privacy and utility (re-id: PETS09 OSNet rank-1 of anonymized query crops vs original gallery; "
            "judge YOLOX-nano 640 on anonymized vs original annotated frames)",
            "",
            "| preset | re-id thwarting | re-id rank-1 | mAP@0.5 PETS09 | count acc PETS09 | mAP@0.5 CamVid | "
            "count acc CamVid |",
            "|---|---|---|---|---|---|---|",
        ]
        if ref:
            lines.append(
                f"| original (no anonymization) | {_pct(ref['thwarting_rate'])} | {ref['rank1']:.3f} | 1.000 | 1.000 "
                "| 1.000 | 1.000 |"
            )
        for name, r in report["presets"].items():
            rid = r["datasets"]["pets09"].get("reid")
            u = {ds: d.get("utility") for ds, d in r["datasets"].items()}

            def num(x) -> str:
                return "-" if x is None else f"{x:.3f}"

            lines.append(
                f"| {name} | {_pct(rid['thwarting_rate']) if rid else '-'} | {num(rid['rank1']) if rid else '-'} | "
                + " | ".join(
                    num((u.get(ds) or {}).get(k)) for ds in ("pets09", "camvid") for k in ("map50", "count_accuracy")
                )
                + " |"
            )
        if ref:
            lines.append(
                f"\nre-id: {ref['queries']} queries from {ref['query_frames']} frames, gallery {ref['gallery_crops']} "
                f"crops from {ref['gallery_frames']} frames, chance rank-1 {ref['chance_rank1']:.3f}"
            )
    return "\n".join(lines)


__all__ = ["BUCKETS", "LeakTally", "Sequence", "bucket_of", "evaluate", "run_stream", "tables", "write_json"]
