"""Privacy and utility evaluation of the anonymization methods (`inspire eval`).

Optional: needs the `eval` extra (torch for the MobileNetV2 features, matplotlib for the
plots). Nothing in the in-vehicle runtime imports this package; heavy dependencies are
imported inside the functions that use them.
"""

from __future__ import annotations

from ..errors import EvalError

__all__ = ["EvalError"]
