"""inspire_ros: replace people and cars in camera video with synthesized, non-existent ones.

The package face is lazy (PEP 562): `import inspire_ros` loads none of the pipeline, OpenCV or
onnxruntime, so ROS tooling (launch files reading `inspire_ros.ros.params`) and message users stay
light. Each public name below is imported from its module on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it (relative to this package)
_LAZY = {
    "Anonymizer": ".pipeline",
    "Box": ".types",
    "Config": ".config",
    "ConfigError": ".errors",
    "Detection": ".types",
    "Instance": ".types",
    "ModelError": ".errors",
}

__all__ = ["Anonymizer", "Box", "Config", "ConfigError", "Detection", "Instance", "ModelError", "__version__"]

if TYPE_CHECKING:
    from .config import Config
    from .errors import ConfigError, ModelError
    from .pipeline import Anonymizer
    from .types import Box, Detection, Instance


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # once: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
