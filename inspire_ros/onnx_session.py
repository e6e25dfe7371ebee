"""onnxruntime sessions with explicitly chosen execution providers.

onnxruntime lists providers it cannot actually use (Azure first on CPU wheels; CUDA in
onnxruntime-gpu on a machine without a GPU, which then silently runs on CPU), so we ask
for an explicit list and log what the session really got.
"""

from __future__ import annotations

import logging
from pathlib import Path

import onnxruntime as ort

from .model_store import ModelError

log = logging.getLogger(__name__)
# Everything onnxruntime raises when a file is not a model it can load (they derive from
# Exception only): not protobuf, no graph, an invalid graph, unsupported operators or opsets.
_ORT_ERRORS: tuple[type[BaseException], ...] = tuple(
    c for c in vars(ort.capi.onnxruntime_pybind11_state).values() if isinstance(c, type) and issubclass(c, Exception)
)

_NAMES = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}


def provider_list(preferred: list[str]) -> list[str]:
    available = set(ort.get_available_providers())
    chosen = [_NAMES[p] for p in preferred if _NAMES[p] in available and p != "cpu"]
    return chosen + ["CPUExecutionProvider"]


def create_session(path: Path, preferred: list[str], threads: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    # Several sessions (detector, mask, generator) run back to back on the same cores: a pool
    # that spin-waits after its run steals the CPU from the next session.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    wanted = provider_list(preferred)
    try:
        with open(path, "rb"):  # unreadable: say so, before onnxruntime reports it its own way
            pass
        session = ort.InferenceSession(str(path), opts, providers=wanted)
    except OSError as e:
        raise ModelError(
            f"cannot read model file {path}: {e.strerror or e}. To fix: give this process read access to it "
            "(check its permissions and owner) or point the config at a readable copy."
        ) from e
    except _ORT_ERRORS as e:
        # onnxruntime's message: "[ONNXRuntimeError] : 7 : INVALID_PROTOBUF : Load model from X failed:why"
        reason = " ".join(str(e).split(" failed:", 1)[-1].split()).rstrip(".") or type(e).__name__
        raise ModelError(
            f"model file {path} is not an ONNX model onnxruntime can load ({reason}). To fix: point the config's "
            "model key at an .onnx file exported for this block (models/manifest.yaml lists the shipped ones; "
            "`inspire models list` shows where each resolves)."
        ) from e
    got = session.get_providers()
    log.info("onnxruntime session for %s runs on %s", Path(path).name, got[0])
    if preferred and preferred[0] != "cpu" and got[0] == "CPUExecutionProvider":
        log.warning("%s: asked for %s but onnxruntime fell back to CPU", Path(path).name, preferred[0])
    return session


def active_provider(session: ort.InferenceSession) -> str:
    return session.get_providers()[0]
