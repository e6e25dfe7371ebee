import numpy as np

from inspire_ros.boxes import iou
from inspire_ros.detect import build_detector, finalize_boxes
from inspire_ros.detect.yolox import YoloxDetector
from inspire_ros.types import Box


def test_boxes_are_rounded_down_and_clipped():
    boxes = finalize_boxes(np.array([[-3.7, 2.9, 800.2, 10.99], [5.5, 6.5, 7.9, 8.1]]), 640, 480)
    assert boxes.tolist() == [[0, 2, 640, 10], [5, 6, 7, 8]]
    assert boxes.dtype == np.int64


def test_bus_people_found_and_only_protected_categories(default_cfg, bus):
    dets = build_detector(default_cfg).detect(bus)
    people = [d.box for d in dets if d.category == "person"]
    assert {d.category for d in dets} <= {"person", "car"}
    # The three people standing in front of the bus (hand-checked boxes).
    for expected in ([50, 394, 214, 898], [219, 402, 347, 855], [685, 450, 810, 874]):
        assert max(iou(Box(*expected), p) for p in people) > 0.8
    h, w = bus.shape[:2]
    for d in dets:
        b = d.box
        assert all(isinstance(v, int) for v in b.as_list())
        assert 0 <= b.x0 < b.x1 <= w and 0 <= b.y0 < b.y1 <= h
        assert d.score >= default_cfg.detector.score_threshold


def test_categories_are_configurable(default_cfg, bus):
    cfg = default_cfg.replace(categories={"bus": {}}, allow_reduced_protection=True)  # no person: opt-out
    dets = YoloxDetector(cfg).detect(bus)
    assert [d.category for d in dets] == ["bus"]
    assert dets[0].box.width > 600


def test_dynamic_model_at_640_agrees_with_fixed_model(default_cfg, vtest_frames):
    fixed = YoloxDetector(default_cfg)
    dynamic = YoloxDetector(
        default_cfg.replace(**{"detector.model": "yolox_nano_dynamic.onnx", "detector.input_size": 640})
    )
    assert dynamic.size == 640 and fixed.size == 416
    a = [d for d in fixed.detect(vtest_frames[1]) if d.category == "person"]
    b = [d for d in dynamic.detect(vtest_frames[1]) if d.category == "person"]
    assert len(a) >= 5 and len(b) >= 5
    matched = sum(max(iou(x.box, y.box) for y in b) > 0.5 for x in a)
    assert matched >= 0.8 * len(a)
