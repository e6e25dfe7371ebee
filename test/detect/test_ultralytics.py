"""The ultralytics backend with a real YOLOv8n-seg built from its yaml (no download).

Needs the `ultralytics` extra (torch 2.14.1 + torchvision 0.29.1); scripts/test.sh runs this
file in .venv-ultralytics. Random weights predict nothing, so the class bias of the
segmentation head is raised for `person`: the boxes and masks still come from ultralytics'
own predict, NMS and mask decoding, which is what this backend adapts.
"""

import numpy as np
import pytest

ultralytics = pytest.importorskip("ultralytics", reason="needs the ultralytics extra (.venv-ultralytics)")

from inspire_ros import Anonymizer  # noqa: E402
from inspire_ros.detect.ultralytics import UltralyticsDetector  # noqa: E402

from support import union_mask  # noqa: E402


@pytest.fixture(scope="module")
def seg_models(tmp_path_factory):
    import torch

    folder = tmp_path_factory.mktemp("yolo")
    torch.manual_seed(0)
    model = ultralytics.YOLO("yolov8n-seg.yaml")
    head = model.model.model[-1]
    with torch.no_grad():
        for branch in head.cv3:
            branch[-1].bias[0] = 6.0  # person
    pt = folder / "yolov8n-seg-test.pt"
    model.save(str(pt))
    onnx = ultralytics.YOLO(str(pt)).export(format="onnx", imgsz=320)
    return pt, onnx


def _cfg(default_cfg, model, **params):
    return default_cfg.replace(
        **{
            "detector.backend": "ultralytics",
            "detector.model": str(model),
            "detector.input_size": 320,
            "detector.params": params,
            "extractor.type": "detector_masks",
        }
    )


@pytest.mark.parametrize("kind", ["pt", "onnx"])
def test_boxes_and_masks_follow_the_core_convention(default_cfg, seg_models, vtest_frames, kind):
    model = seg_models[0] if kind == "pt" else seg_models[1]
    params = {"task": "segment"} if kind == "onnx" else {}
    detector = UltralyticsDetector(_cfg(default_cfg, model, **params))
    frame = vtest_frames[1]
    dets = detector.detect(frame)
    assert dets, "the biased head must yield person boxes"
    h, w = frame.shape[:2]
    for d in dets:
        assert d.category == "person" and d.class_id == 0
        b = d.box
        assert all(isinstance(v, int) for v in b.as_list())
        assert 0 <= b.x0 < b.x1 <= w and 0 <= b.y0 < b.y1 <= h
        assert d.mask is not None and d.mask.shape == (b.height, b.width) and d.mask.dtype == bool


def test_segmentation_masks_drive_the_chain(default_cfg, seg_models, vtest_frames):
    anon = Anonymizer(_cfg(default_cfg, seg_models[0]).replace(seed=0))
    frame = vtest_frames[1]
    out, instances = anon.anonymize(frame)
    assert instances
    union = union_mask(frame, instances)
    assert np.array_equal(out[~union], frame[~union])
