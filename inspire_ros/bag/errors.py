"""The one error type of the bag tool."""

from __future__ import annotations

from ..io.media import MediaError


class BagError(MediaError):
    """A bag cannot be read, understood or written. A MediaError, so the CLI reports it as
    `inspire: error: ...` with exit status 2."""
