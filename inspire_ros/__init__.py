"""inspire_ros: replace people and cars in camera video with synthesized, non-existent ones."""

from .config import Config, ConfigError
from .model_store import ModelError
from .pipeline import Anonymizer
from .types import Box, Detection, Instance

__version__ = "0.1.0"
__all__ = ["Anonymizer", "Box", "Config", "ConfigError", "Detection", "Instance", "ModelError", "__version__"]
