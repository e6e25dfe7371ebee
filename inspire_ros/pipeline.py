"""The ROS-free core: detect -> replace (the method's replacers, see replace.py), per frame.

`Anonymizer` is what the CLI, the ROS node and the bag tool all call. It owns its random
generator (no global state): with `seed` set the output is reproducible; without it, every
instance in every frame gets fresh OS entropy, so instances cannot be linked across frames.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import numpy as np

from . import config as config_mod
from .config import Config
from .detect import Detector, build_detector
from .extract import Extractor
from .generate import Generator
from .replace import build_replacers
from .track.guard import TemporalGuard
from .types import Box, CropBatch, Detection, Features, Instance

log = logging.getLogger(__name__)

STAGES = ("detect", "crop", "extract", "generate", "patch")


class Anonymizer:
    def __init__(
        self,
        cfg: Config,
        detector: Detector | None = None,
        extractors: dict[str, Extractor] | None = None,
        generators: dict[str, Generator] | None = None,
        scene_blocks: dict | None = None,
    ):
        self.cfg = cfg
        self.detector = detector or build_detector(detector_config(cfg))
        self.replacers, self.instances, self.scene = build_replacers(cfg, extractors, generators, scene_blocks)
        self.rng = np.random.default_rng(cfg.seed)
        for reduction in config_mod.reductions(cfg):
            log.warning("PROTECTION REDUCED (allow_reduced_protection is set): %s", reduction)

    @property
    def extractors(self) -> dict[str, Extractor]:
        return self.instances.extractors if self.instances else {}

    @property
    def generators(self) -> dict[str, Generator]:
        return self.instances.generators if self.instances else {}

    @classmethod
    def from_config(cls, path: str | Path | None = None, *, preset: str | None = None, **overrides) -> Anonymizer:
        """Build from a YAML file (None: config/default.yaml) with optional dotted-key overrides;
        `preset` applies when the file names none."""
        from .paths import default_config_path

        cfg = config_mod.load(path or default_config_path(), preset)
        if overrides:
            cfg = cfg.replace(**overrides)
        return cls(cfg)

    def reconfigured(self, cfg: Config) -> Anonymizer:
        """A new anonymizer for `cfg` that keeps this one's blocks whose configuration did not
        change (no model reload for a new method or edge sigma). This one stays usable: a live
        node swaps the reference between frames."""
        same_runtime = cfg.runtime == self.cfg.runtime
        keep_detector = (
            same_runtime
            and detector_config(cfg).detector == detector_config(self.cfg).detector
            and cfg.categories == self.cfg.categories
        )
        extractors, generators = {}, {}
        for cat in cfg.categories:
            if cat in self.extractors and same_runtime and cfg.extractor_for(cat) == self.cfg.extractor_for(cat):
                extractors[cat] = self.extractors[cat]
            if cat in self.generators and same_runtime and cfg.generator_for(cat) == self.cfg.generator_for(cat):
                generators[cat] = self.generators[cat]
        scene_blocks = {}
        if same_runtime and self.scene is not None:
            # The segmenter, inpainter and harmonizer whose own config did not change (a new
            # noise scale, category list or method reloads nothing).
            old = self.cfg.svia
            scene_blocks = {k: b for k, b in self.scene.blocks.items() if getattr(cfg.svia, k) == getattr(old, k)}
        return Anonymizer(cfg, self.detector if keep_detector else None, extractors, generators, scene_blocks)

    def detect(self, frame: np.ndarray) -> list[Detection]:
        """The detector's candidates: every box down to the low score threshold."""
        check_frame(frame, self.cfg.max_frame_pixels)
        return self._candidates(frame)

    def _candidates(self, frame: np.ndarray) -> list[Detection]:
        return padded_detections(self.detector.detect(frame), self.cfg.detector.box_padding, frame.shape)

    def confident(self, candidates: list[Detection]) -> list[Detection]:
        """Without a tracker only boxes at or above the score threshold are replaced."""
        return [d for d in candidates if d.score >= self.cfg.detector.score_threshold]

    def select(
        self, candidates: list[Detection], shape: tuple[int, ...], guard: TemporalGuard | None, stamp_ns: int | None
    ) -> list[Detection]:
        """What a frame replaces of its candidates: the stream tracker's decision (live), or the
        confident ones without a tracker."""
        if guard is not None:
            return guard.update(candidates, shape[:2], stamp_ns)
        return self.confident(candidates)

    def guard(self, salt: int | None = None) -> TemporalGuard | None:
        """A temporal guard for one stream (None when tracking is off). `salt` keys per-track
        latents; None draws it from this anonymizer's random stream."""
        if not self.cfg.tracking.enabled:
            return None
        return TemporalGuard(self.cfg, int(self.rng.integers(2**62)) if salt is None else salt)

    def anonymize(
        self,
        frame: np.ndarray,
        timings: dict[str, float] | None = None,
        rng: np.random.Generator | None = None,
        *,
        guard: TemporalGuard | None = None,
        stamp_ns: int | None = None,
        detections: list[Detection] | None = None,
    ) -> tuple[np.ndarray, list[Instance]]:
        """Return an anonymized copy of `frame` (HxWx3 uint8 BGR) and the replaced instances.

        `rng` overrides the anonymizer's own random stream for this frame (e.g. seeded per
        message, so a resumed bag reproduces an uninterrupted run). `guard`: the stream's
        tracker (live), fed this frame's candidates and its `stamp_ns`. `detections`: what to
        replace, decided beforehand (offline look-ahead); the detector does not run. Raises on
        any failure: callers decide whether to blank or drop (see `anonymize_or_blank`).
        """
        check_frame(frame, self.cfg.max_frame_pixels)
        clock = _Clock(timings)
        if detections is None:
            detections = self.select(self._candidates(frame), frame.shape, guard, stamp_ns)
        clock.lap("detect")
        out = frame.copy()  # the one full-frame copy per frame
        instances: list[Instance] = []
        for replacer in self.replacers:
            instances += replacer.replace(frame, out, detections, rng or self.rng, clock)
        clock.lap("patch")
        return out, instances

    def synthesize(self, batch: CropBatch, features: Features, rng: np.random.Generator | None = None) -> np.ndarray:
        """INSPIRE's generation step for one category batch (fresh or per-track latents)."""
        if self.instances is None:
            raise ValueError(f"method {self.cfg.method} synthesizes no instances")
        return self.instances.synthesize(batch, features, rng or self.rng)

    def anonymize_or_blank(
        self, frame: np.ndarray, timings: dict | None = None, rng: np.random.Generator | None = None, **kwargs
    ):
        """Fail closed: (output, instances, error). On failure the output is a black frame of
        the same shape, or None when the config says to drop; never the original. `kwargs`: as
        for `anonymize`."""
        try:
            out, instances = self.anonymize(frame, timings, rng, **kwargs)
            return out, instances, None
        except Exception as e:  # noqa: BLE001 - any failure must not leak the original
            return self.fail(frame, f"{type(e).__name__}: {e}")

    def fail(self, frame: np.ndarray, error: str):
        """(blank frame or None, [], error): what a frame that cannot be anonymized becomes."""
        log.error("frame not anonymized (%s); %s", error, self.cfg.on_error)
        blank = None if self.cfg.on_error == "drop" else np.zeros_like(frame)
        return blank, [], error


def padded_detections(found: list[Detection], pad: float, shape: tuple[int, ...]) -> list[Detection]:
    """Boxes grown by `detector.box_padding` inside a frame of `shape` (masked detections keep
    their box: the mask says where the object is)."""
    if not pad:
        return found
    h, w = shape[:2]
    return [d.with_box(padded(d.box, pad, w, h)) if d.mask is None else d for d in found]


def padded(box: Box, pad: float, width: int, height: int) -> Box:
    dx, dy = int(round(box.width * pad)), int(round(box.height * pad))
    return Box(max(0, box.x0 - dx), max(0, box.y0 - dy), min(width, box.x1 + dx), min(height, box.y1 + dy))


def detector_config(cfg: Config) -> Config:
    """The config the detector is built from. With a tracker it returns candidates down to the
    low score threshold (a track may confirm them); `Anonymizer.confident` keeps the rest apart."""
    if not cfg.tracking.enabled:
        return cfg
    low = min(cfg.detector.low_score_threshold, cfg.detector.score_threshold)
    return dataclasses.replace(cfg, detector=dataclasses.replace(cfg.detector, score_threshold=low))


def check_frame(frame: np.ndarray, max_pixels: int | None = None) -> None:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        got = f"{frame.shape} {frame.dtype}" if isinstance(frame, np.ndarray) else type(frame).__name__
        raise ValueError(f"expected an HxWx3 uint8 BGR frame, got {got}")
    if max_pixels is not None and frame.shape[0] * frame.shape[1] > max_pixels:
        raise ValueError(
            f"frame of {frame.shape[1]}x{frame.shape[0]} pixels is larger than max_frame_pixels ({max_pixels})"
        )


class _Clock:
    """Adds elapsed milliseconds per stage into `timings` (if given)."""

    def __init__(self, timings: dict[str, float] | None):
        self.timings = timings
        self.t = time.perf_counter()

    def lap(self, stage: str) -> None:
        if self.timings is None:
            return
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + (now - self.t) * 1000
        self.t = now
