"""The replacement seam: what a method does with a frame once its detections are decided.

A `Replacer` writes its replacement into the output frame and returns the audit records. A
method is a list of replacers run in order on the same output (`build_replacers`), so the
CLI, the node, the bag tool and `inspire eval` take every method the same way:
- inspire: `InstanceReplacement` (crop -> extract -> generate -> patch, per category);
- blur | pixelate | fill: `BoxObfuscation` of the detected boxes;
- svia: `svia.scene.SceneReplacement` of the scene categories (segmenter masks, plus the
  detector's boxes of people/vehicles/signs);
- hybrid: SVIA for the scene categories other than person/vehicle, then INSPIRE for the
  detected instances on top.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Protocol

import cv2
import numpy as np

from .baselines import obfuscate
from .config import INSTANCE_METHODS, SCENE_METHODS, Config
from .crop import crop_batch, crop_size_for
from .extract import Extractor, build_extractor
from .generate import Generator, build_generator
from .patch import Replacement, paste
from .types import CropBatch, Detection, Features, Instance


class Replacer(Protocol):
    def replace(
        self, frame: np.ndarray, out: np.ndarray, detections: list[Detection], rng: np.random.Generator, clock=None
    ) -> list[Instance]:
        """Read `frame` (the original), write into `out` (its copy, possibly already changed
        by an earlier replacer); return what was replaced. `clock` (optional): per-stage
        timings (`clock.lap(stage)`), for replacers that have stages."""
        ...


class BoxObfuscation:
    def __init__(self, cfg: Config):
        self.cfg = cfg

    def replace(self, frame, out, detections, rng, clock=None):
        return obfuscate(out, detections, self.cfg.method, self.cfg.baselines)


class InstanceReplacement:
    """INSPIRE: every detected instance replaced by a synthesized one of the same shape."""

    def __init__(
        self,
        cfg: Config,
        extractors: dict[str, Extractor] | None = None,
        generators: dict[str, Generator] | None = None,
    ):
        self.cfg = cfg
        self.extractors = dict(extractors or {})
        self.generators = dict(generators or {})
        # Categories with the same block config share one instance: one model load, one sha256
        # check and one onnxruntime session, not one per category.
        built: dict[str, object] = {}
        kinds = (
            ("extractor", self.extractors, cfg.extractor_for, build_extractor),
            ("generator", self.generators, cfg.generator_for, build_generator),
        )
        for cat in cfg.categories:
            for kind, blocks, block_config, build in kinds:
                if cat not in blocks:
                    bcfg = block_config(cat)
                    key = f"{kind} {bcfg!r}"
                    if key not in built:
                        built[key] = build(bcfg, cfg, f"categories.{cat}.{kind}")
                    blocks[cat] = built[key]

    def replace(self, frame, out, detections, rng, clock=None):
        by_category: dict[str, list[Detection]] = defaultdict(list)
        for d in detections:
            by_category[d.category].append(d)
        replacements = []
        for category, dets in by_category.items():
            # One batch per crop size (crop_size_for): a near instance is synthesized at
            # large_crop_size rather than scaled up from crop_size.
            by_size: dict[int, list[int]] = defaultdict(list)
            for i, d in enumerate(dets):
                by_size[crop_size_for(d, self.cfg.categories[category])].append(i)
            # Kept in detection order within the category, as with one batch: paste's
            # smallest-box-first order (a stable sort) breaks ties the same way.
            slots: list[Replacement | None] = [None] * len(dets)
            for size, indices in by_size.items():
                batch = crop_batch(frame, category, [dets[i] for i in indices], size)
                _lap(clock, "crop")
                features = self.extractors[category].extract(batch)
                dilation = self.cfg.extractor_for(category).mask_dilation
                if dilation:
                    features = dilate(features, batch, dilation)
                _lap(clock, "extract")
                images = self.synthesize(batch, features, rng)
                _lap(clock, "generate")
                for j, i in enumerate(indices):
                    slots[i] = Replacement(dets[i], batch.geometry[j], images[j], features.masks[j])
            replacements += slots
        return paste(out, replacements)

    def synthesize(self, batch: CropBatch, features: Features, rng: np.random.Generator) -> np.ndarray:
        """Fresh latents for every instance, then the category's generator. Only the
        features reach the generator: the crops' pixels never do."""
        generator = self.generators[batch.category]
        latents = rng.standard_normal((len(batch), generator.latent_dim), dtype=np.float32)
        if self.cfg.generator_for(batch.category).latents == "per_track":
            # One synthetic person per track: the latent follows from (stream salt, track id),
            # never from the real person's pixels.
            for i, d in enumerate(batch.detections):
                if d.track_id is not None:
                    latents[i] = np.random.default_rng([d.stream, d.track_id]).standard_normal(
                        generator.latent_dim, dtype=np.float32
                    )
        images = generator.generate(batch.category, features.masks, features.edges, latents)
        expected = (len(batch), batch.size, batch.size, 3)
        if images.shape != expected or images.dtype != np.uint8:
            raise RuntimeError(
                f"generator for {batch.category} returned {images.shape} {images.dtype}, not {expected} uint8"
            )
        return images


def _lap(clock, stage: str) -> None:
    if clock is not None:
        clock.lap(stage)


def dilate(features: Features, batch: CropBatch, pixels: int) -> Features:
    """Masks grown by `pixels` (crop pixels), kept inside each crop's box content."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    masks = np.stack([cv2.dilate(m, kernel) for m in features.masks]) & batch.valid.astype(np.uint8)
    return Features(masks, features.edges)


def scene_categories(cfg: Config) -> list[str]:
    """The SVIA categories a method replaces: all of `svia.categories` for svia; for hybrid
    those INSPIRE's instances do not already cover."""
    from .svia.classes import INSTANCE_CATEGORIES

    if cfg.method in INSTANCE_METHODS:
        return [c for c in cfg.svia.categories if c not in INSTANCE_CATEGORIES]
    return list(cfg.svia.categories)


def build_replacers(
    cfg: Config,
    extractors: dict[str, Extractor] | None = None,
    generators: dict[str, Generator] | None = None,
    scene_blocks: dict | None = None,
) -> tuple[list[Replacer], InstanceReplacement | None, object | None]:
    """(replacers in order, the instance replacer, the scene replacer) of `cfg.method`.
    `extractors`, `generators`, `scene_blocks`: already built blocks to reuse."""
    if cfg.method not in INSTANCE_METHODS and cfg.method not in SCENE_METHODS:
        return [BoxObfuscation(cfg)], None, None
    instances = scene = None
    if cfg.method in SCENE_METHODS:
        from .svia.scene import SceneReplacement

        scene = SceneReplacement(cfg, scene_categories(cfg), scene_blocks)
    if cfg.method in INSTANCE_METHODS:
        instances = InstanceReplacement(cfg, extractors, generators)
    # The scene first: instances are pasted over it (a synthetic person on a synthetic road).
    return [r for r in (scene, instances) if r is not None], instances, scene
