import numpy as np

from inspire_ros.config import EdgeConfig
from inspire_ros.crop import crop_batch
from inspire_ros.detect import build_detector
from inspire_ros.extract import edge_maps


def test_blur_is_a_privacy_knob_and_padding_has_no_edges(default_cfg, vtest_frames):
    frame = vtest_frames[1]
    dets = [d for d in build_detector(default_cfg).detect(frame) if d.category == "person"]
    batch = crop_batch(frame, "person", dets, 64)
    sharp = edge_maps(batch.images, batch.valid, EdgeConfig(kernel_size=1, sigma=0))
    soft = edge_maps(batch.images, batch.valid, EdgeConfig(kernel_size=9, sigma=3))
    assert sharp.dtype == soft.dtype and set(sharp.ravel()) <= {0, 1}
    assert sharp.sum() > 0
    assert soft.sum() < 0.7 * sharp.sum()
    assert not sharp[~batch.valid].any()
    # The border between content and zero padding is not an object edge.
    g = batch.geometry[0]
    assert not sharp[0, :, g.offset_x].any() and not sharp[0, :, g.offset_x + g.width - 1].any()


def test_contrast_normalisation_keeps_the_structure_of_dark_crops(default_cfg, vtest_frames):
    """A person or car in shade: with `contrast: adaptive` the edge map of a crop darkened to a
    quarter of its brightness keeps most of the bright crop's edges; with fixed thresholds they
    vanish. The bright crop itself loses none of its fixed-threshold edges."""
    frame = vtest_frames[1]
    dets = build_detector(default_cfg).detect(frame)
    batch = crop_batch(frame, "person", [d for d in dets if d.category == "person"], 64)
    dark = (batch.images.astype(np.float32) * 0.25).astype(np.uint8)
    adaptive, plain = EdgeConfig(contrast="adaptive"), EdgeConfig(contrast="none")
    bright_adaptive = edge_maps(batch.images, batch.valid, adaptive)
    bright_plain = edge_maps(batch.images, batch.valid, plain)
    kept_adaptive = edge_maps(dark, batch.valid, adaptive).sum() / bright_adaptive.sum()
    kept_plain = edge_maps(dark, batch.valid, plain).sum() / bright_plain.sum()
    assert kept_plain < 0.3
    assert kept_adaptive > 0.6
    assert not (bright_plain & ~bright_adaptive).any()  # thresholds never above the fixed ones
    assert not edge_maps(dark, batch.valid, adaptive)[~batch.valid].any()
