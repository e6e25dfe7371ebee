"""Temporal coverage: a tracker per stream so a person the detector loses for some frames is
still replaced. Live: `TemporalGuard` (coasting on predictions). Offline: `lookahead.plan`
(fill gaps, extend track ends) over a whole sequence. `Receipt` counts what each added."""
