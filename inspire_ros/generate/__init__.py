"""Stage 4: synthesize non-existent instances from mask + edges + a fresh latent."""

from .base import Generator, build_generator

__all__ = ["Generator", "build_generator"]
