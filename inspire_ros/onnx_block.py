"""Loading a learned block's ONNX model: verified file, explicit providers."""

from __future__ import annotations

import onnxruntime as ort

from . import model_store
from .config import Config, RuntimeConfig
from .onnx_session import create_session


def load_session(model: str | None, sha256: str | None, default: str, cfg: Config | None) -> ort.InferenceSession:
    runtime = cfg.runtime if cfg is not None else RuntimeConfig()
    return create_session(model_store.resolve(model or default, sha256), runtime.providers, runtime.threads)


def category_code(category: str) -> float:
    """The learned blocks know people (0) and vehicles (1); riders and two-wheelers are
    closest to people, every other class to cars."""
    return 0.0 if category in ("person", "bicycle", "motorcycle") else 1.0
