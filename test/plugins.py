"""Plug-ins used by the tests through the public plug-in interface (config `type:`)."""

from __future__ import annotations

import numpy as np

from inspire_ros.types import CropBatch, Detection, Features


class FixedExtractor:
    """Returns the same mask and edges for every crop, whatever its pixels."""

    def __init__(self, mask: np.ndarray, edges: np.ndarray):
        self.mask, self.edges = mask, edges

    def extract(self, batch: CropBatch) -> Features:
        n = len(batch)
        return Features(np.repeat(self.mask[None], n, 0), np.repeat(self.edges[None], n, 0))


class FlakyGenerator:
    """Raises on every `fail_every`-th call (fault injection for fail-closed tests)."""

    latent_dim = 16

    def __init__(self, gcfg, cfg):
        self.fail_every = int(gcfg.params.get("fail_every", 1))
        self.calls = 0

    def generate(self, category, masks, edges, latents):
        self.calls += 1
        if self.calls % self.fail_every == 0:
            raise RuntimeError("injected generator failure")
        return np.full((*masks.shape, 3), 200, np.uint8)


class SizeRecordingGenerator:
    """The procedural generator, recording (category, instances, crop side) of every call."""

    def __init__(self, gcfg, cfg):
        from inspire_ros.generate.procedural import ProceduralGenerator

        self.inner = ProceduralGenerator(gcfg)
        self.latent_dim = self.inner.latent_dim
        self.calls: list[tuple[str, int, int]] = []

    def generate(self, category, masks, edges, latents):
        self.calls.append((category, masks.shape[0], masks.shape[1]))
        return self.inner.generate(category, masks, edges, latents)


class BlindSpotDetector:
    """The real YOLOX detector, made to miss whatever it finds around `region` in the frames
    `blind_frames` (0-based call count): a person the detector loses for a few frames."""

    def __init__(self, cfg):
        from inspire_ros.detect.yolox import YoloxDetector

        self.inner = YoloxDetector(cfg)
        self.provider = self.inner.provider
        self.blind = set(cfg.detector.params.get("blind_frames", []))
        self.region = cfg.detector.params.get("region", [0, 0, 0, 0])
        self.calls = 0
        self.hidden = 0  # detections withheld so far (a test can check the blind spot was hit)

    def detect(self, frame: np.ndarray) -> list[Detection]:
        found = self.inner.detect(frame)
        blind = self.calls in self.blind
        self.calls += 1
        if not blind:
            return found
        x0, y0, x1, y1 = self.region
        kept = [d for d in found if not (x0 <= (d.box.x0 + d.box.x1) / 2 < x1 and y0 <= (d.box.y0 + d.box.y1) / 2 < y1)]
        self.hidden += len(found) - len(kept)
        return kept


class NoDetectMethod:
    """A detector plug-in that forgot `detect` (the protocol check must refuse it)."""

    provider = "cpu"

    def __init__(self, cfg):
        pass

    def find(self, frame):
        return []


class NoProvider:
    """A detector plug-in without the `provider` attribute the node and the audit report."""

    def __init__(self, cfg):
        pass

    def detect(self, frame):
        return []


class WrongShapeSegmenter:
    """A segmenter plug-in that returns scores of the wrong shape (fail-closed tests)."""

    provider = "test"

    def __init__(self, block, cfg):
        pass

    def segment(self, image: np.ndarray) -> np.ndarray:
        return np.zeros((3, 8, 8), np.float32)


class EmptyDetector:
    """A complete detector plug-in that finds nothing."""

    provider = "test"

    def __init__(self, cfg):
        pass

    def detect(self, frame):
        return []


class NoExtractMethod:
    """An extractor plug-in that forgot `extract` (the protocol check must refuse it)."""

    def __init__(self, ecfg, cfg):
        pass

    def masks(self, batch):
        return []


class NoGenerateMethod:
    """A generator plug-in that forgot `generate` (the protocol check must refuse it)."""

    latent_dim = 16

    def __init__(self, gcfg, cfg):
        pass

    def draw(self, category, masks, edges, latents):
        return None


class NoLatentDim:
    """A generator plug-in without the `latent_dim` attribute the latents are drawn with."""

    def __init__(self, gcfg, cfg):
        pass

    def generate(self, category, masks, edges, latents):
        return np.zeros((*masks.shape, 3), np.uint8)


class NoSegmentMethod:
    """A segmenter plug-in that forgot `segment` (the protocol check must refuse it)."""

    provider = "test"

    def __init__(self, block, cfg):
        pass


def procedural_factory(gcfg, cfg):
    """A plug-in given as a factory function rather than a class: builds the procedural generator."""
    from inspire_ros.generate.procedural import ProceduralGenerator

    return ProceduralGenerator(gcfg, cfg)
