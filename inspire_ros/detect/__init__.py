"""Stage 1: find the protected objects."""

from .base import Detector, build_detector, finalize_boxes

__all__ = ["Detector", "build_detector", "finalize_boxes"]
