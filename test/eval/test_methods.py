"""The compared methods: registry, Gaussian grid configs and the face+plate baseline."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inspire_ros.crop import crop_batch
from inspire_ros.detect.yolox import YoloxDetector
from inspire_ros.eval import EvalError
from inspire_ros.eval.methods import GAUSSIAN_GRID, GAUSSIAN_METHODS, METHODS, build, build_all
from inspire_ros.types import Box, Detection

from support import SHARED


def test_registry_covers_the_paper_grid_and_every_baseline():
    assert GAUSSIAN_GRID == [(k, s) for k in (5, 25, 45) for s in (5, 15, 25)]
    expected = {"none", "inspire-learned", "inspire-weight-free", "blur", "pixelate", "fill", "face-plate-blur"}
    assert set(METHODS) == expected | set(GAUSSIAN_METHODS)
    with pytest.raises(EvalError, match="unknown method 'mosaic'"):
        build_all(["fill", "mosaic"], SHARED)


def test_gaussian_variants_blur_the_edge_condition_of_the_learned_blocks(vtest_frames, default_cfg):
    frame = vtest_frames[1]
    people = [d for d in YoloxDetector(default_cfg).detect(frame) if d.category == "person"]
    assert len(people) >= 4
    batch = crop_batch(frame, "person", people, 64)
    edges = {}
    for name in ("inspire-noblur", "inspire-k5s5", "inspire-k45s25"):
        m = build(name, SHARED, seed=0)
        cfg = m.anonymizer.cfg
        assert cfg.extractor.type == "unet" and cfg.generator.type == "gan"
        edges[name] = int(m.anonymizer.extractors["person"].extract(batch).edges.sum())
    assert build("inspire-k25s15", SHARED).anonymizer.cfg.extractor.edges.kernel_size == 25
    assert edges["inspire-noblur"] > edges["inspire-k5s5"] > edges["inspire-k45s25"]


def test_methods_replace_the_given_detections_only(vtest_frames):
    frame = vtest_frames[0]
    box = Box(300, 200, 360, 330)
    for name in ("inspire-weight-free", "blur", "pixelate", "fill"):
        out, instances = build(name, SHARED, seed=0).apply(
            frame, [Detection(box, "person", 0, 0.9)], np.random.default_rng(0)
        )
        changed = np.any(out != frame, axis=2)
        assert changed.any() and [i.box for i in instances] == [box]
        outside = changed.copy()
        outside[box.y0 : box.y1, box.x0 : box.x1] = False
        assert not outside.any(), name
    out, instances = build("none", SHARED).apply(frame, [Detection(box, "person", 0, 0.9)], np.random.default_rng(0))
    assert instances == [] and np.array_equal(out, frame)


def test_face_plate_baseline_blurs_faces_and_plates_but_keeps_bodies(bus):
    m = build("face-plate-blur", SHARED)
    out, instances = m.apply(bus, [], np.random.default_rng(0))
    faces = [i for i in instances if i.category == "face"]
    assert len(faces) >= 2
    changed = np.any(out != bus, axis=2)
    union = np.zeros_like(changed)
    for i in instances:
        union[i.box.y0 : i.box.y1, i.box.x0 : i.box.x1] = True
    assert changed.any() and not (changed & ~union).any()
    # The people's bodies (hand-checked box of the leftmost person below the face) are untouched.
    assert not changed[600:880, 60:200].any()
    plate = cv2.imread(str(SHARED / "data" / "street" / "licenseplate_motion.jpg"))
    kinds = [k for k, _ in m.boxes(plate)]
    assert "plate" in kinds
