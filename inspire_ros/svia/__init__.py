"""SVIA: street-scene anonymization (segment -> Laplace noise -> inpaint -> harmonize)."""
