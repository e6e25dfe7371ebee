"""The shipped learned blocks (models/*.onnx trained by this project on CamVid)."""

import numpy as np
import pytest

from inspire_ros import model_store
from inspire_ros.config import ConfigError
from inspire_ros.crop import crop_batch
from inspire_ros.detect import build_detector
from inspire_ros.extract import build_extractor
from inspire_ros.generate import build_generator
from inspire_ros.onnx_block import category_code

SHIPPED = ("inspire_unet_camvid.onnx", "inspire_gen_camvid.onnx")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_models_are_in_the_package_and_match_the_manifest(name):
    path = model_store.resolve(name)
    assert path.parent.name == "models" and path.parent.parent.name != "shared"
    assert model_store.sha256_of(path) == model_store.load_manifest()[name].sha256
    assert path.stat().st_size < 10 * 2**20  # a few MB, fit for a vehicle image


@pytest.fixture(scope="module")
def real_instances(default_cfg, vtest_frames, camvid_frames):
    """(frame, category, detections) of real frames, as the default detector finds them."""
    detector = build_detector(default_cfg)
    found = []
    for frame in (vtest_frames[1], camvid_frames[1]):
        dets = detector.detect(frame)
        for category in ("person", "car"):
            mine = [d for d in dets if d.category == category]
            if mine:
                found.append((frame, category, mine))
    assert {c for _, c, _ in found} == {"person", "car"}
    return found


@pytest.fixture(scope="module")
def real_batches(real_instances):
    return [crop_batch(frame, category, dets, 64) for frame, category, dets in real_instances]


def test_default_config_uses_the_learned_blocks(default_cfg):
    assert default_cfg.extractor.type == "unet" and default_cfg.generator.type == "gan"


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


def test_generator_instances_on_real_masks_and_seed_diversity(default_cfg, real_batches):
    extractor = build_extractor(default_cfg.extractor, default_cfg, "extractor")
    generator = build_generator(default_cfg.generator, default_cfg, "generator")
    rng = np.random.default_rng(0)
    for batch in real_batches:
        feats = extractor.extract(batch)
        n = len(batch)
        z1 = rng.standard_normal((n, generator.latent_dim), dtype=np.float32)
        z2 = rng.standard_normal((n, generator.latent_dim), dtype=np.float32)
        a = generator.generate(batch.category, feats.masks, feats.edges, z1)
        b = generator.generate(batch.category, feats.masks, feats.edges, z1)
        c = generator.generate(batch.category, feats.masks, feats.edges, z2)
        assert a.shape == (n, 64, 64, 3) and a.dtype == np.uint8
        assert np.array_equal(a, b), "same latent must give the same instance"
        inside = feats.masks == 1
        assert a[inside].std() > 10, "instances are flat"
        # Different latents: visibly different instances (mean absolute difference in the mask).
        diff = np.abs(a.astype(int) - c.astype(int)).mean(-1)[inside]
        assert diff.mean() > 8, f"{batch.category}: the latent barely changes the instance ({diff.mean():.1f})"
