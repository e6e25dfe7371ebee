"""Privacy and utility evaluation of the anonymization methods (`inspire eval`).

Optional: needs the `eval` extra (torch for the MobileNetV2 features, matplotlib for the
plots). Nothing in the in-vehicle runtime imports this package; heavy dependencies are
imported inside the functions that use them.
"""

from __future__ import annotations


class EvalError(RuntimeError):
    """Evaluation input (data, model, optional dependency) is missing or unusable; the
    message names the file or package and how to fix it."""
