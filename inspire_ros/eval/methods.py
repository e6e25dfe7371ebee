"""The methods compared, all fed the same detections on the same frames.

Each method maps (frame, detections) to (anonymized frame, replaced instances). The inspire
variants and the box baselines are `Anonymizer`s built from the project's configs with a
fixed-detection detector plugged in, so detection runs once per frame for all of them and
only the replacement differs. `face-plate-blur` is the exception by design: like
Dashcam-Cleaner it finds faces (YuNet) and number plates (Haar cascade) itself and blurs
only those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .. import config as config_mod
from ..detect.fixed import FixedDetector
from ..model_store import resolve
from ..paths import config_dir
from ..pipeline import Anonymizer
from ..types import Box, Detection, Instance
from . import EvalError

# Paper's grid of the edge extractor's Gaussian blur (kernel size k, sigma) on the learned blocks.
GAUSSIAN_GRID = [(k, s) for k in (5, 25, 45) for s in (5, 15, 25)]
GAUSSIAN_METHODS = [f"inspire-k{k}s{s}" for k, s in GAUSSIAN_GRID] + ["inspire-noblur"]
METHODS = [
    "none",
    "inspire-learned",
    "inspire-weight-free",
    *GAUSSIAN_METHODS,
    "blur",
    "pixelate",
    "fill",
    "face-plate-blur",
]
PLATE_CASCADE = "haarcascade_russian_plate_number.xml"
FACE_MODEL = "face_detection_yunet.onnx"


@dataclass
class Method:
    name: str
    family: str  # reference | inspire | inspire-gaussian | baseline
    description: str
    params: dict = field(default_factory=dict)

    def apply(
        self, frame: np.ndarray, detections: list[Detection], rng: np.random.Generator
    ) -> tuple[np.ndarray, list[Instance]]:
        raise NotImplementedError


class NoAnonymization(Method):
    def apply(self, frame, detections, rng):
        return frame.copy(), []


class AnonymizerMethod(Method):
    def __init__(self, name: str, family: str, description: str, cfg: config_mod.Config, params: dict):
        super().__init__(name, family, description, params)
        self.fixed = FixedDetector()
        self.anonymizer = Anonymizer(cfg, detector=self.fixed)

    def apply(self, frame, detections, rng):
        self.fixed.detections = [d for d in detections if d.category in self.anonymizer.cfg.categories]
        return self.anonymizer.anonymize(frame, rng=rng)


class FacePlateBlur(Method):
    """Dashcam-Cleaner-style baseline: blur faces (YuNet) and plates (Haar cascade) only."""

    def __init__(self, name: str, shared: Path, kernel_size: int = 31):
        super().__init__(
            name,
            "baseline",
            "faces (YuNet) and number plates (OpenCV Haar cascade) Gaussian-blurred; bodies and cars stay",
            {"face_model": FACE_MODEL, "plate_cascade": PLATE_CASCADE, "kernel_size": kernel_size},
        )
        model = resolve(str(shared / "models" / FACE_MODEL))
        self.faces = cv2.FaceDetectorYN.create(str(model), "", (320, 320), 0.6, 0.3, 5000)
        cascade = Path(cv2.data.haarcascades) / PLATE_CASCADE
        self.plates = cv2.CascadeClassifier(str(cascade))
        if self.plates.empty():
            raise EvalError(f"plate cascade {cascade} missing or unreadable: install opencv-python-headless<5")
        self.kernel_size = kernel_size

    def boxes(self, frame: np.ndarray) -> list[tuple[str, Box]]:
        h, w = frame.shape[:2]
        self.faces.setInputSize((w, h))
        _, faces = self.faces.detect(frame)
        found = []
        for f in [] if faces is None else faces:
            x, y, bw, bh = (int(round(v)) for v in f[:4])
            found.append(("face", x, y, bw, bh))
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        for x, y, bw, bh in self.plates.detectMultiScale(gray, 1.05, 3, minSize=(20, 8)):
            found.append(("plate", int(x), int(y), int(bw), int(bh)))
        out = []
        for kind, x, y, bw, bh in found:
            box = Box(max(0, x), max(0, y), min(w, x + bw), min(h, y + bh))
            if box.width > 0 and box.height > 0:
                out.append((kind, box))
        return out

    def apply(self, frame, detections, rng):
        out = frame.copy()
        instances = []
        for kind, b in self.boxes(frame):
            region = out[b.y0 : b.y1, b.x0 : b.x1]
            k = self.kernel_size
            region[...] = cv2.GaussianBlur(region, (k, k), 0)
            instances.append(Instance(kind, b, 1.0, b.area, np.ones((b.height, b.width), bool)))
        return out, instances


def _load(name: str) -> config_mod.Config:
    path = config_dir() / name
    if not path.is_file():
        raise EvalError(f"config {path} not found: the checkout or install is incomplete")
    return config_mod.load(path)


def build(name: str, shared: Path, seed: int | None = None) -> Method:
    """One method by name (see METHODS)."""
    learned = _load("default.yaml").replace(seed=seed)
    if name == "none":
        return NoAnonymization(name, "reference", "no anonymization (the original frames)")
    if name == "inspire-learned":
        desc = "inspire, learned UNet + GAN (config/default.yaml)"
        return AnonymizerMethod(name, "inspire", desc, learned, {"config": "default.yaml"})
    if name == "inspire-weight-free":
        cfg = _load("weight_free.yaml").replace(seed=seed)
        desc = "inspire, weight-free contrast + procedural (config/weight_free.yaml)"
        return AnonymizerMethod(name, "inspire", desc, cfg, {"config": "weight_free.yaml"})
    if name in GAUSSIAN_METHODS:
        k, s = (1, 0.0) if name == "inspire-noblur" else GAUSSIAN_GRID[GAUSSIAN_METHODS.index(name)]
        cfg = learned.replace(**{"extractor.edges.kernel_size": k, "extractor.edges.sigma": float(s)})
        desc = f"inspire learned, edge Gaussian k={k}, sigma={s}" if k > 1 else "inspire learned, no edge blur"
        return AnonymizerMethod(name, "inspire-gaussian", desc, cfg, {"kernel_size": k, "sigma": s})
    if name in ("blur", "pixelate", "fill"):
        b = learned.baselines
        params = {
            "blur": {"size": b.blur.size, "kernel_size": b.blur.kernel_size, "sigma": b.blur.sigma},
            "pixelate": {"cells": b.pixelate.cells},
            "fill": {"color": b.fill.color},
        }[name]
        desc = {
            "blur": "paper's box blur, strongest setting (box -> 256x256 -> Gaussian k=45, sigma=25 -> back)",
            "pixelate": f"pixelate, {b.pixelate.cells} cells along the longer side",
            "fill": "solid grey fill of the box",
        }[name]
        return AnonymizerMethod(name, "baseline", desc, learned.replace(method=name), params)
    if name == "face-plate-blur":
        return FacePlateBlur(name, shared)
    raise EvalError(f"unknown method {name!r}; known: {', '.join(METHODS)}")


def build_all(names: list[str], shared: Path, seed: int | None = None) -> list[Method]:
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise EvalError(f"unknown method {unknown[0]!r}; known: {', '.join(METHODS)}")
    return [build(n, shared, seed) for n in dict.fromkeys(names)]
