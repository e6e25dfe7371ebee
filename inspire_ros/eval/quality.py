"""Image quality of the replacements.

Fréchet and kernel distances between the original and the anonymized instance crops,
computed on ImageNet MobileNetV2 features (1280-d). They follow the FID/KID formulas but
are NOT Inception FID/KID (no Inception weights here): compare them only with each other.
SSIM outside masks: mean SSIM between original and anonymized frame over the pixels that
belong to no ground-truth instance, i.e. the collateral damage to the rest of the scene
(box methods change the background inside a box; masks that spill over change it too).
"""

from __future__ import annotations

import cv2
import numpy as np


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2); 0 for identical sets.

    With A, B the centred feature rows, the eigenvalues of S_a S_b are the squared singular
    values of A B^T / sqrt((n_a - 1)(n_b - 1)), so the matrix square root term is that
    matrix's nuclear norm: exact, and an n x n problem instead of a d x d one.
    """
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    a, b = a.astype(np.float64), b.astype(np.float64)
    mu = a.mean(0) - b.mean(0)
    ca, cb = a - a.mean(0), b - b.mean(0)
    na, nb = len(a) - 1, len(b) - 1
    cross = np.linalg.svd(ca @ cb.T, compute_uv=False).sum() / np.sqrt(na * nb)
    return float(max(0.0, mu @ mu + (ca * ca).sum() / na + (cb * cb).sum() / nb - 2 * cross))


def kernel_distance(a: np.ndarray, b: np.ndarray, subset: int = 100, subsets: int = 50, seed: int = 0) -> float:
    """KID-style unbiased MMD^2 with the cubic polynomial kernel (x.y/d + 1)^3 on paired
    sets (a[i] is the original of b[i]): the U-statistic over pairs i != j, so identical
    sets give exactly 0. Averaged over random subsets of `subset` pairs when there are more."""
    n = min(len(a), len(b))
    if n < 2 or len(a) != len(b):
        return float("nan")
    a, b = a.astype(np.float64), b.astype(np.float64)
    d = a.shape[1]
    rng = np.random.default_rng(seed)
    m = min(n, subset)
    values = []
    for _ in range(subsets if m < n else 1):
        idx = rng.choice(n, m, replace=False)
        x, y = a[idx], b[idx]
        h = (x @ x.T / d + 1) ** 3 + (y @ y.T / d + 1) ** 3 - (x @ y.T / d + 1) ** 3 - (y @ x.T / d + 1) ** 3
        values.append((h.sum() - np.trace(h)) / (m * (m - 1)))
    return float(np.mean(values))


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM of two grayscale images (Gaussian window 11, sigma 1.5; Wang et al.)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    blur = lambda x: cv2.GaussianBlur(x, (11, 11), 1.5)  # noqa: E731
    ma, mb = blur(a), blur(b)
    va, vb, cov = blur(a * a) - ma * ma, blur(b * b) - mb * mb, blur(a * b) - ma * mb
    return ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))


def ssim_outside(original: np.ndarray, anonymized: np.ndarray, mask: np.ndarray) -> float:
    """Mean SSIM over the pixels where `mask` (HxW bool, the ground-truth instances) is False.

    The masked pixels are copied from the original first, so a change inside the instances
    does not reach the SSIM windows of the pixels around them: only damage outside counts.
    """
    outside = ~mask
    if not outside.any():
        return float("nan")
    anonymized = anonymized.copy()
    anonymized[mask] = original[mask]
    g = lambda x: cv2.cvtColor(x, cv2.COLOR_BGR2GRAY)  # noqa: E731
    return float(ssim_map(g(original), g(anonymized))[outside].mean())
