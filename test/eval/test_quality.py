"""Fréchet / kernel distances and SSIM outside masks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inspire_ros.eval.quality import frechet_distance, kernel_distance, ssim_outside


def direct_frechet(a, b):
    """The textbook formula with d x d matrix square roots (eigen-decomposition)."""

    def sqrtm(m):
        w, v = np.linalg.eigh(m)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T

    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    r = sqrtm(sa)
    mu = a.mean(0) - b.mean(0)
    return mu @ mu + np.trace(sa + sb - 2 * sqrtm(r @ sb @ r))


def test_frechet_distance_is_zero_for_identical_sets_and_matches_the_textbook_formula():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(60, 12))
    b = rng.normal(size=(40, 12)) * 1.5 + 0.3
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(a, b) == pytest.approx(direct_frechet(a, b), rel=1e-6)
    wide = rng.normal(size=(30, 200))  # fewer samples than dimensions, as with 1280-d features
    assert frechet_distance(wide, wide + 1.0) == pytest.approx(200.0, rel=1e-6)  # a pure mean shift


def test_kernel_distance_is_zero_for_identical_sets_and_grows_with_the_difference():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(80, 32))
    assert kernel_distance(a, a) == pytest.approx(0.0, abs=1e-12)
    near, far = kernel_distance(a, a + 0.2), kernel_distance(a, a + 1.0)
    assert 0 < near < far
    assert kernel_distance(a[:-1], a) != kernel_distance(a[:-1], a)  # NaN: the sets must be paired


def test_ssim_outside_masks_ignores_the_replaced_instances_and_sees_collateral_damage(camvid_frames):
    frame = camvid_frames[0]
    mask = np.zeros(frame.shape[:2], bool)
    mask[100:200, 150:260] = True
    assert ssim_outside(frame, frame, mask) == pytest.approx(1.0)
    inside = frame.copy()
    inside[mask] = 0
    assert ssim_outside(frame, inside, mask) == pytest.approx(1.0)
    box = frame.copy()
    box[80:220, 130:280] = cv2.GaussianBlur(frame[80:220, 130:280], (31, 31), 10)  # a box method's margin
    damaged = ssim_outside(frame, box, mask)
    assert damaged < 0.99
    blurred = cv2.GaussianBlur(frame, (31, 31), 10)
    assert ssim_outside(frame, blurred, mask) < damaged
