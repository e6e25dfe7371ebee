"""The shipped UNet mask extractor (extract/unet.py, models/inspire_unet_camvid.onnx trained by
this project on CamVid) on real crops."""

import numpy as np
import pytest

from inspire_ros.config import ConfigError
from inspire_ros.crop import crop_batch
from inspire_ros.extract import build_extractor
from inspire_ros.onnx_block import category_code


def test_unet_masks_on_real_crops(default_cfg, real_batches):
    extractor = build_extractor(default_cfg.extractor, default_cfg, "extractor")
    for batch in real_batches:
        feats = extractor.extract(batch)
        assert feats.masks.shape == (len(batch), 64, 64) and feats.masks.dtype == np.uint8
        assert set(np.unique(feats.masks)) <= {0, 1} and not feats.masks[~batch.valid].any()
        share = feats.masks.sum((1, 2)) / batch.valid.sum((1, 2))
        assert np.median(share) > 0.2, f"{batch.category}: masks nearly empty"
        assert np.median(share) < 0.98, f"{batch.category}: masks are just the box"


def test_unet_masks_at_large_crop_size_follow_the_64_masks(default_cfg, real_instances):
    """The UNet runs at its trained 64: a 64 batch goes straight in (the session's own
    thresholded logits, bit for bit); a 128 batch is resized to 64 and its logits back to
    128, giving (n,128,128) masks that match the 64 ones."""
    extractor = build_extractor(default_cfg.extractor, default_cfg, "extractor")
    for frame, category, dets in real_instances:
        small = crop_batch(frame, category, dets, 64)
        masks = extractor.extract(small).masks
        image = small.images.transpose(0, 3, 1, 2).astype(np.float32) * (1 / 255)
        code = np.full(len(small), category_code(category), np.float32)
        (logits,) = extractor.session.run(None, {"image": image, "category": code})
        assert np.array_equal(masks, ((logits[:, 0] > extractor.logit) & small.valid).astype(np.uint8))
        large = crop_batch(frame, category, dets, 128)
        big = extractor.extract(large).masks
        assert big.shape == (len(large), 128, 128) and big.dtype == np.uint8
        assert set(np.unique(big)) <= {0, 1} and not big[~large.valid].any()
        down = big.reshape(len(large), 64, 2, 64, 2).mean((2, 4)) >= 0.5
        iou = (down & (masks == 1)).sum() / (down | (masks == 1)).sum()
        assert iou > 0.8, f"{category}: 128 masks differ from the 64 ones (IoU {iou:.2f})"


def test_unet_size_param_is_checked(default_cfg):
    ecfg = default_cfg.extractor
    with pytest.raises(ConfigError, match="'extractor.params.size'"):
        build_extractor(type(ecfg)(type="unet", params={"size": 0}), default_cfg, "extractor")
