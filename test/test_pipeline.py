"""The whole chain on real frames: what users rely on."""

import cv2
import numpy as np
import pytest

from inspire_ros import Anonymizer
from inspire_ros.config import BOX_METHODS
from inspire_ros.detect.fixed import FixedDetector
from inspire_ros.types import Box, Detection

from plugins import FixedExtractor
from support import union_mask


@pytest.fixture(scope="module")
def anonymizer(shared, default_cfg):
    return Anonymizer(default_cfg.replace(seed=11))


def test_every_instance_replaced_and_background_bit_identical(anonymizer, real_frames):
    total = 0
    for frame in real_frames:
        detections = anonymizer.detector.detect(frame)
        original = frame.copy()
        out, instances = anonymizer.anonymize(frame)
        assert np.array_equal(frame, original), "the input frame must not be modified"
        assert out.shape == frame.shape and out.dtype == np.uint8
        assert sorted(d.box.as_list() for d in detections) == sorted(i.box.as_list() for i in instances)
        union = union_mask(frame, instances)
        assert np.array_equal(out[~union], frame[~union])
        changed = (out != frame).any(-1)
        for inst in instances:
            b = inst.box
            assert inst.mask.shape == (b.height, b.width) and inst.mask_area == inst.mask.sum()
            assert inst.mask.mean() >= 0.3, f"{inst} mask covers too little of its box"
            region_changed = changed[b.y0 : b.y1, b.x0 : b.x1][inst.mask]
            assert region_changed.mean() > 0.8, f"{inst} not replaced"
        total += len(instances)
    assert total >= 20


def test_pasted_in_ascending_box_area(anonymizer, bus):
    _, instances = anonymizer.anonymize(bus)
    areas = [i.box.area for i in instances]
    assert areas == sorted(areas)


def test_same_seed_same_output_other_seed_other_output(default_cfg, vtest_frames):
    frames = vtest_frames[:2]
    runs = [Anonymizer(default_cfg.replace(seed=s)) for s in (5, 5, 6)]
    a, b, c = ([run.anonymize(f)[0] for f in frames] for run in runs)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])


def test_fresh_latents_every_frame(default_cfg, vtest_frames):
    """The same frame twice through one anonymizer gives different instances: instances
    cannot be linked across frames by their appearance."""
    anon = Anonymizer(default_cfg)  # seed None: OS entropy
    first, inst = anon.anonymize(vtest_frames[0])
    second, _ = anon.anonymize(vtest_frames[0])
    union = union_mask(first, inst)
    assert (first != second).any(-1)[union].mean() > 0.5


def test_instances_are_a_function_of_mask_edges_and_seed_only(default_cfg, camvid_frames, vtest_frames):
    """Two different originals, the same boxes, masks and edges: bit-identical instances."""
    box = Box(100, 60, 160, 200)
    mask = np.zeros((64, 64), np.uint8)
    mask[4:60, 18:46] = 1
    edges = np.zeros((64, 64), np.uint8)
    edges[20, 18:46] = 1
    outs = []
    for frame in (camvid_frames[0], vtest_frames[0][:360, :480]):
        anon = Anonymizer(
            default_cfg.replace(seed=3, categories={"person": {}}),
            detector=FixedDetector([Detection(box, "person", 0, 0.9)]),
            extractors={"person": FixedExtractor(mask, edges)},
        )
        out, (inst,) = anon.anonymize(frame)
        outs.append((out[box.y0 : box.y1, box.x0 : box.x1], inst.mask))
    (a, ma), (b, mb) = outs
    assert np.array_equal(ma, mb) and ma.sum() > 0
    assert np.array_equal(a[ma], b[mb])
    assert not np.array_equal(camvid_frames[0][60:200, 100:160][ma], vtest_frames[0][60:200, 100:160][ma])


@pytest.mark.parametrize("method", BOX_METHODS)
def test_all_methods_change_boxes_and_nothing_else(default_cfg, method, vtest_frames):
    anon = Anonymizer(default_cfg.replace(method=method, seed=0))
    frame = vtest_frames[1]
    out, instances = anon.anonymize(frame)
    assert len(instances) >= 5
    union = union_mask(frame, instances)
    assert np.array_equal(out[~union], frame[~union])
    for inst in instances:
        b = inst.box
        assert (out[b.y0 : b.y1, b.x0 : b.x1] != frame[b.y0 : b.y1, b.x0 : b.x1]).any(-1).mean() > 0.3


def test_baselines_follow_their_definition(default_cfg, vtest_frames):
    frame = vtest_frames[1]
    fill = Anonymizer(default_cfg.replace(method="fill"))
    out, instances = fill.anonymize(frame)
    for inst in instances:
        b = inst.box
        assert (out[b.y0 : b.y1, b.x0 : b.x1] == [127, 127, 127]).all()
    pix = Anonymizer(default_cfg.replace(method="pixelate", **{"baselines.pixelate.cells": 4}))
    out, instances = pix.anonymize(frame)
    biggest = max(instances, key=lambda i: i.box.area)
    b = biggest.box
    region = out[b.y0 : b.y1, b.x0 : b.x1].reshape(-1, 3)
    assert len(np.unique(region, axis=0)) <= 4 * 4 + 4


def test_bad_frames_are_rejected(anonymizer):
    for bad in (np.zeros((10, 10), np.uint8), np.zeros((10, 10, 3), np.float32), "frame"):
        with pytest.raises(ValueError, match="HxWx3 uint8"):
            anonymizer.anonymize(bad)


def test_fail_closed_never_returns_the_original(default_cfg, vtest_frames):
    cfg = default_cfg.replace(**{"generator.type": "plugins:FlakyGenerator", "generator.params": {"fail_every": 1}})
    anon = Anonymizer(cfg)
    frame = vtest_frames[0]
    out, instances, error = anon.anonymize_or_blank(frame)
    assert error and "injected generator failure" in error
    assert out.shape == frame.shape and not out.any() and instances == []
    drop = Anonymizer(cfg.replace(on_error="drop"))
    assert drop.anonymize_or_blank(frame)[0] is None


def test_box_padding_and_mask_dilation_only_grow_what_is_replaced(default_cfg, vtest_frames):
    frame = vtest_frames[1]
    plain = Anonymizer(default_cfg.replace(seed=2))
    grown = Anonymizer(default_cfg.replace(**{"seed": 2, "detector.box_padding": 0.1, "extractor.mask_dilation": 2}))
    a, b = plain.detect(frame), grown.detect(frame)
    assert len(a) == len(b) > 3
    h, w = frame.shape[:2]
    for d, p in zip(a, b, strict=True):
        assert p.box.x0 <= d.box.x0 and p.box.y0 <= d.box.y0 and p.box.x1 >= d.box.x1 and p.box.y1 >= d.box.y1
        assert 0 <= p.box.x0 and 0 <= p.box.y0 and p.box.x1 <= w and p.box.y1 <= h
        assert p.box.area > d.box.area
    out, instances = grown.anonymize(frame)
    union = union_mask(frame, instances)
    assert np.array_equal(out[~union], frame[~union])  # still: nothing outside the masks changes
    covered = union_mask(frame, plain.anonymize(frame)[1]).sum()
    assert union.sum() > 1.2 * covered


def test_large_instances_are_generated_at_large_crop_size(default_cfg, bus):
    """One near (504 px) and one far (113 px) person: the near one is synthesized at
    large_crop_size, the far one at crop_size; both replaced, nothing outside them changes."""
    frame = bus.copy()
    frame[300:413, 400:432] = cv2.resize(bus[402:855, 219:347], (32, 113), interpolation=cv2.INTER_AREA)
    large, small = Box(50, 394, 214, 898), Box(400, 300, 432, 413)
    detector = FixedDetector([Detection(large, "person", 0, 0.9), Detection(small, "person", 0, 0.9)])
    cfg = default_cfg.replace(
        seed=4,
        categories={"person": {"large_crop_size": 128}},
        **{"generator.type": "plugins:SizeRecordingGenerator"},
    )
    anon = Anonymizer(cfg, detector=detector)
    timings: dict[str, float] = {}
    out, instances = anon.anonymize(frame, timings)
    assert sorted(anon.generators["person"].calls) == [("person", 1, 64), ("person", 1, 128)]
    assert [i.box for i in instances] == [small, large]  # smallest first, across crop sizes
    boxes = np.zeros(frame.shape[:2], bool)
    changed = (out != frame).any(-1)
    for inst in instances:
        b = inst.box
        boxes[b.y0 : b.y1, b.x0 : b.x1] = True
        assert inst.mask.mean() >= 0.3, f"{inst} mask covers too little of its box"
        assert changed[b.y0 : b.y1, b.x0 : b.x1][inst.mask].mean() > 0.8, f"{inst} not replaced"
    assert np.array_equal(out[~boxes], frame[~boxes])
    assert all(timings[s] > 0 for s in ("crop", "extract", "generate", "patch"))
    # large_crop_size off: both in one batch at crop_size.
    off = Anonymizer(cfg.replace(categories={"person": {}}), detector=detector)
    off.anonymize(frame)
    assert off.generators["person"].calls == [("person", 2, 64)]
