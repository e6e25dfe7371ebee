"""SVIA on real CamVid frames with the shipped segmenter, inpainter and harmonizer."""

import cv2
import numpy as np
import pytest

from inspire_ros import config as config_mod
from inspire_ros.model_store import ModelError
from inspire_ros.pipeline import Anonymizer
from inspire_ros.svia.classes import CATEGORIES, PAPER_CATEGORIES
from inspire_ros.svia.noise import laplace_noise

from support import CAMVID, union_mask


@pytest.fixture(scope="module")
def frames(camvid_frames):
    return camvid_frames[:2]


@pytest.fixture(scope="module")
def svia():
    return Anonymizer(config_mod.from_dict({"method": "svia", "seed": 0}))


def test_outside_the_replaced_regions_nothing_changes_and_inside_everything_does(svia, frames):
    for frame in frames:
        out, instances = svia.anonymize(frame)
        assert out.shape == frame.shape and out.dtype == np.uint8
        assert {i.category for i in instances} <= set(PAPER_CATEGORIES) and instances
        assert all(i.source == "segmented" and i.mask_area == i.mask.sum() > 0 for i in instances)
        replaced = union_mask(frame, instances)
        assert np.array_equal(out[~replaced], frame[~replaced])
        # Inside, the pixels are synthesized: (almost) none is the original value.
        same = (out == frame).all(2)[replaced].mean()
        assert same < 0.05, same


@pytest.mark.usefixtures("shared")
def test_the_shipped_segmenter_covers_what_camvid_labels(svia):
    # Share of each category's labelled pixels inside its mask, over test frames of a drive the
    # segmenter never saw (a guard against a shipped model that stopped finding things).
    names = ["0001TP_008550", "0001TP_009240", "0001TP_009900", "0001TP_010380"]
    floors = {"road": 0.8, "building": 0.6, "person": 0.8, "vehicle": 0.8}
    covered = {c: [] for c in floors}
    for name in names:
        frame = cv2.imread(str(CAMVID / "test" / "images" / f"{name}.jpg"))
        label = cv2.imread(str(CAMVID / "test" / "labels" / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
        masks = svia.scene.masks(frame, [])
        for category in floors:
            truth = np.isin(label, CATEGORIES[category])
            if truth.sum() > 200:
                got = masks.get(category, np.zeros_like(truth))
                covered[category].append((got & truth).sum() / truth.sum())
    for category, floor in floors.items():
        assert np.mean(covered[category]) >= floor, (category, covered[category])


def test_the_same_seed_gives_the_same_frame_and_another_seed_another(frames):
    def run(seed):
        return Anonymizer(config_mod.from_dict({"method": "svia", "seed": seed})).anonymize(frames[0])

    (a, inst), (b, _), (c, _) = run(3), run(3), run(4)
    assert np.array_equal(a, b)
    replaced = union_mask(frames[0], inst)
    assert not np.array_equal(a[replaced], c[replaced])


@pytest.mark.parametrize("category", PAPER_CATEGORIES)
def test_every_category_can_be_switched_off(frames, category):
    kept = [c for c in PAPER_CATEGORIES if c != category]
    cfg = config_mod.from_dict(
        {"method": "svia", "seed": 0, "allow_reduced_protection": category == "person",
         "svia": {"categories": kept, "use_detections": False}}
    )  # fmt: skip
    anonymizer = Anonymizer(cfg)
    frame = frames[1]
    out, instances = anonymizer.anonymize(frame)
    assert category not in {i.category for i in instances}
    # The category's own pixels (as the segmenter sees them, away from the other masks) stay.
    own = np.isin(anonymizer.scene.labels(frame), CATEGORIES[category]) & ~union_mask(frame, instances)
    assert np.array_equal(out[own], frame[own])


def test_detected_people_are_covered_even_where_the_segmenter_misses_them(frames):
    cfg = {"method": "svia", "seed": 0, "svia": {"categories": ["person"]}}
    with_boxes = Anonymizer(config_mod.from_dict(cfg))
    detections = with_boxes.confident(with_boxes.detect(frames[1]))
    people = [d for d in detections if d.category == "person"]
    assert people
    _, instances = with_boxes.anonymize(frames[1])
    replaced = union_mask(frames[1], instances)
    for d in people:
        b = d.box
        assert replaced[b.y0 : b.y1, b.x0 : b.x1].all()


def test_hybrid_replaces_instances_with_inspire_and_the_scene_with_svia(frames):
    hybrid = Anonymizer(config_mod.from_dict({"method": "hybrid", "seed": 0}))
    frame = frames[1]
    out, instances = hybrid.anonymize(frame)
    sources = {i.source for i in instances}
    assert "segmented" in sources and "detected" in sources
    scene = {i.category for i in instances if i.source == "segmented"}
    assert scene and not scene & {"person", "vehicle"}
    replaced = union_mask(frame, instances)
    assert np.array_equal(out[~replaced], frame[~replaced])


def test_whole_image_harmonization_may_touch_every_pixel(frames):
    confined = Anonymizer(config_mod.from_dict({"method": "svia", "seed": 0}))
    whole = Anonymizer(config_mod.from_dict({"method": "svia", "seed": 0, "svia": {"harmonize": "image"}}))
    a, instances = confined.anonymize(frames[0])
    b, _ = whole.anonymize(frames[0])
    outside = ~union_mask(frames[0], instances)
    assert np.array_equal(a[outside], frames[0][outside]) and not np.array_equal(b[outside], frames[0][outside])


def test_laplace_noise_is_seeded_confined_and_of_the_asked_scale():
    image = np.full((64, 64, 3), 128, np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 16:48] = 1
    a = laplace_noise(image, mask, 10.0, np.random.default_rng(0))
    assert np.array_equal(a, laplace_noise(image, mask, 10.0, np.random.default_rng(0)))
    assert not np.array_equal(a, laplace_noise(image, mask, 10.0, np.random.default_rng(1)))
    assert np.array_equal(a[mask == 0], image[mask == 0])
    # Mean absolute deviation of Laplace(0, b) is b.
    assert abs(np.abs(a[mask == 1].astype(float) - 128).mean() - 10.0) < 1.0
    assert np.array_equal(laplace_noise(image, mask, 0.0, np.random.default_rng(0)), image)


@pytest.mark.usefixtures("shared")
def test_a_missing_or_tampered_scene_model_stops_start_up_naming_it(tmp_path):
    with pytest.raises(ModelError, match="nowhere"):
        Anonymizer(
            config_mod.from_dict({"method": "svia", "svia": {"inpainter": {"model": str(tmp_path / "nowhere.onnx")}}})
        )
    from inspire_ros.model_store import resolve

    tampered = tmp_path / "svia_segmenter_camvid.onnx"
    tampered.write_bytes(resolve("svia_segmenter_camvid.onnx").read_bytes()[:-7] + b"tamper!")
    cfg = {"method": "svia", "svia": {"segmenter": {"model": str(tampered)}}}
    with pytest.raises(ModelError, match="sha256"):
        Anonymizer(config_mod.from_dict(cfg))


def test_a_failing_scene_block_blanks_the_frame(frames):
    cfg = config_mod.from_dict({"method": "svia", "svia": {"segmenter": {"type": "plugins:WrongShapeSegmenter"}}})
    out, instances, error = Anonymizer(cfg).anonymize_or_blank(frames[0])
    assert error and "segmenter returned" in error and not out.any() and instances == []


def test_scene_settings_are_validated_naming_the_key():
    bad = [
        ({"svia": {"categories": ["roads"]}}, "svia.categories[0]"),
        ({"svia": {"width": 250}}, "svia.width"),
        ({"svia": {"noise_scale": -1}}, "svia.noise_scale"),
        ({"svia": {"harmonize": "everything"}}, "svia.harmonize"),
        ({"svia": {"prompts": {"castle": "a castle"}}}, "svia.prompts.castle"),
        ({"svia": {"segmenter": {"type": "diffusers"}}}, "svia.segmenter.type"),
        ({"method": "svia", "svia": {"categories": ["road"]}}, "svia.categories"),
    ]
    for data, key in bad:
        with pytest.raises(config_mod.ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
            config_mod.from_dict(data)


def test_a_live_change_of_method_or_noise_keeps_the_scene_models_but_not_the_old_categories(svia, frames):
    hybrid = svia.reconfigured(svia.cfg.replace(method="hybrid", **{"svia.noise_scale": 48.0}))
    assert hybrid.scene.segmenter is svia.scene.segmenter and hybrid.scene.inpainter is svia.scene.inpainter
    assert not {"person", "vehicle"} & set(hybrid.scene.categories)
    _, instances = hybrid.anonymize(frames[1])
    assert not {i.category for i in instances if i.source == "segmented"} & {"person", "vehicle"}
    other = svia.reconfigured(svia.cfg.replace(**{"svia.segmenter.type": "plugins:WrongShapeSegmenter"}))
    assert other.scene.segmenter is not svia.scene.segmenter and other.scene.inpainter is svia.scene.inpainter
