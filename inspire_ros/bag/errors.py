"""The one error type of the bag tool (defined with the others in inspire_ros.errors).

Not a MediaError: the CLI maps every InspireError to its exit status itself (status 2 for a bag).
"""

from __future__ import annotations

from ..errors import BagError

__all__ = ["BagError"]
