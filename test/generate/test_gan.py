"""The shipped generator (generate/gan.py, models/inspire_gen_camvid.onnx trained by this project
on CamVid) on the UNet's masks of real crops."""

import numpy as np

from inspire_ros.crop import crop_batch, crop_size_for
from inspire_ros.extract import build_extractor
from inspire_ros.generate import build_generator
from inspire_ros.pipeline import Anonymizer

from support import union_mask


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


def test_near_people_are_generated_at_128_by_the_same_model(default_cfg, bus):
    """bus.jpg's people are 300-500 px tall: with the default config they take the 128 crop,
    the shipped model draws them at 128 (one model, dynamic size), and only their masks change."""
    anonymizer = Anonymizer(default_cfg.replace(seed=0, preset="none"))
    people = [d for d in anonymizer.detect(bus) if d.category == "person" and d.score >= 0.3]
    large = [d for d in people if crop_size_for(d, default_cfg.categories["person"]) == 128]
    assert large
    batch = crop_batch(bus, "person", large, 128)
    feats = anonymizer.extractors["person"].extract(batch)
    latents = np.random.default_rng(0).standard_normal((len(large), 16), dtype=np.float32)
    images = anonymizer.generators["person"].generate("person", feats.masks, feats.edges, latents)
    assert images.shape == (len(large), 128, 128, 3)
    assert images[feats.masks == 1].std() > 10
    out, instances = anonymizer.anonymize(bus)
    union = union_mask(bus, instances)
    assert np.array_equal(out[~union], bus[~union]) and not np.array_equal(out[union], bus[union])
