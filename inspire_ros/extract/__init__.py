"""Stage 3: per-instance binary masks and auxiliary edge maps."""

from .base import Extractor, build_extractor
from .edges import edge_maps

__all__ = ["Extractor", "build_extractor", "edge_maps"]
