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
